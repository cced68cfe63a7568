"""Types of parameters DuckDB's binder leaves open, inferred as Postgres infers them.

In `balance + $1` or `price > $1` Postgres gives `$1` the type of the other operand; DuckDB
answers UNKNOWN, and binding with the parameter as text then fails for arithmetic
("Could not choose a best candidate function for +(INTEGER, STRING_LITERAL)"). Clients
that Describe before they Bind (asyncpg) must learn the type to encode the value. For
each open parameter that is one side of an arithmetic or comparison operator, the other
side is typed by binding `SELECT <it>` over the same FROM clause (nothing runs).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from .parse import DIALECT

_OPERATORS = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.EQ, exp.NEQ, exp.GT, exp.GTE,
              exp.LT, exp.LTE)  # fmt: skip
# Binds a SELECT's text: its column types, or None when it does not bind.
Binder = Callable[[str], list[str] | None]


def infer_param_types(text: str, known: list[str | None], bind: Binder) -> list[str | None]:
    """`known` (each $n's DuckDB type, None where open) with the open ones of `text` that
    are an operand of an operator typed by the other operand."""
    if None not in known:
        return known
    try:
        tree = sqlglot.parse_one(text, read=DIALECT)
    except SqlglotError:
        return known
    if not isinstance(tree, exp.Select):
        return known
    out = list(known)
    for placeholder in tree.find_all(exp.Placeholder):
        index = _index(placeholder)
        parent = placeholder.parent
        if index is None or index >= len(out) or out[index] is not None:
            continue
        if not isinstance(parent, _OPERATORS):
            continue
        other = parent.right if parent.left is placeholder else parent.left
        if other.find(exp.Placeholder) is not None:
            continue
        probe = tree.copy()
        probe.set("expressions", [other.copy()])
        for clause in ("where", "group", "having", "order", "limit", "offset", "qualify"):
            probe.set(clause, None)
        typed = bind(probe.sql(DIALECT))
        if typed and typed[0] != "UNKNOWN":
            out[index] = typed[0]
    return out


def _index(placeholder: exp.Placeholder) -> int | None:
    """0-based number of `$n`; None for other placeholders."""
    name = str(placeholder.this or "")
    return int(name) - 1 if name.isdigit() and int(name) > 0 else None
