"""Rewriting `vector_search('docs', ...)` into the per-namespace table macro.

A DuckDB table macro cannot pick a function by a string argument, and each namespace's
search function returns that namespace's own columns, so every namespace has its own
macro. The rewrite works on tokens: everything but the call's head keeps its exact text.
"""

from __future__ import annotations

import sqlglot
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from ...engine import SEARCH_FUNCTIONS as SEARCH_SPEC
from ...errors import NotSupportedError
from ...schema import is_name
from ..parse import DIALECT

SEARCH_FUNCTIONS = tuple(SEARCH_SPEC)  # rewritten to the namespace's own macro
NAMESPACE_FUNCTIONS = (
    *SEARCH_FUNCTIONS,
    "elacsym_stats",
    "elacsym_recall",
)  # first argument names a namespace


_KEYWORD_OPTIONS = ("column", "window")  # search options DuckDB would read as keywords


def macro_name(function: str, namespace: str) -> str:
    """The per-namespace macro, quoted (a namespace's name may need quotes)."""
    name = f"elacsym_{function}__{namespace}"
    return '"' + name.replace('"', '""') + '"'


def rewrite_search_calls(sql: str) -> tuple[str, set[str]]:
    """`sql` with search calls aimed at per-namespace macros, and the namespaces that these
    and the other namespace functions name (their views must be brought up to date)."""
    lowered = sql.lower()
    if not any(f in lowered for f in NAMESPACE_FUNCTIONS):
        return sql, set()
    try:
        tokens = sqlglot.tokenize(sql, read=DIALECT)
    except TokenError:
        return sql, set()
    out: list[str] = []
    names: set[str] = set()
    last = 0
    for i, tok in enumerate(tokens[:-2]):
        function = tok.text.lower()
        if function in _KEYWORD_OPTIONS and tokens[i + 1].text in (":=", "=>"):
            # A keyword to DuckDB: quote the named argument for the user.
            out.append(sql[last : tok.start])
            out.append(f'"{function}"')
            last = tok.end + 1
            continue
        if function not in NAMESPACE_FUNCTIONS or tokens[i + 1].token_type != TokenType.L_PAREN:
            continue
        arg = tokens[i + 2]
        namespace = arg.text if arg.token_type == TokenType.STRING else None
        if namespace is None or not is_name(namespace):
            raise NotSupportedError(
                f"the first argument of {function} must name a namespace as a string literal",
                hint=f"{function}('docs', ...)",
            )
        names.add(namespace)
        if function not in SEARCH_FUNCTIONS:
            continue
        end = arg.end + 1
        if i + 3 < len(tokens) and tokens[i + 3].token_type == TokenType.COMMA:
            end = tokens[i + 3].end + 1
        out.append(sql[last : tok.start])
        out.append(macro_name(function, namespace) + "(")
        last = end
    out.append(sql[last:])
    return "".join(out), names
