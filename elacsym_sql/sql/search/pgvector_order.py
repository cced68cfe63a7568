"""pgvector's nearest-neighbour query as the engine's filtered vector search.

    SELECT <items> FROM ns [[AS] a] [WHERE <predicate>]
    ORDER BY <vector column> <op> <query> [ASC] LIMIT <k> [OFFSET <n>]

(or ORDER BY the alias of a select item that is that distance) becomes

    SELECT <items> FROM vector_search('ns', <query>, <k + n>, "column" := '<column>',
        filter := '<predicate>') [AS a] ORDER BY _distance LIMIT <k> [OFFSET <n>]

when `<op>` is the operator of the namespace's metric (`<=>` cosine, `<->` l2, `<#>` dot):
the search's `_distance` is that operator's value, so the distance in the select list
becomes `_distance`, and `*` the namespace's columns. Anything else (another metric, joins,
GROUP BY, DISTINCT, a transaction block's own snapshot, values this module cannot write as
literals) is left to DuckDB, which computes the operator for every row and sorts: the
exact answer, as pgvector gives without a matching index (decision 0028).

The WHERE clause becomes the search's filter, a SQL text evaluated over the namespace, so
its parameters are written into it as literals; the query vector stays a parameter.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from sqlglot.errors import TokenError

from ...engine import DISTANCE, MAX_K
from ...schema import Schema
from ..parse import number_placeholders
from .filter_check import admits
from .pgvector_sql import METRIC_OF_OPERATOR

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<quoted>"(?:[^"]|"")+")
    | (?P<param>\$[1-9][0-9]*)
    | (?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+)
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<op><=>|<->|<\#>|<~>|::|<=|>=|<>|!=|\|\||[-+*/%<>=(),.\[\]:;~!])
    )""",
    re.VERBOSE,
)
_CLAUSES = {"from", "where", "order", "limit", "offset"}
_REFUSED = {"group", "having", "window", "qualify", "union", "intersect", "except", "join",
            "fetch", "for", "distinct", "into", "using", "natural", "cross", "sample",
            "tablesample", "lateral", "with", "on"}  # fmt: skip


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()


def _tokens(sql: str) -> list[_Tok] | None:
    out, pos = [], 0
    end = len(sql.rstrip())
    while pos < end:
        m = _TOKEN.match(sql, pos)
        if m is None or m.end() == pos:
            return None  # comments, dollar quotes, anything unusual: not ours
        kind = m.lastgroup
        assert kind is not None
        out.append(_Tok(kind, m.group(kind), m.start(kind), m.end()))
        pos = m.end()
    if out and out[-1].text == ";":
        out.pop()
    return out


def _split(tokens: list[_Tok], at: Callable[[_Tok], bool]) -> list[list[_Tok]] | None:
    """`tokens` cut where `at` holds at bracket depth 0 (the cut tokens start each part)."""
    parts: list[list[_Tok]] = [[]]
    depth = 0
    for tok in tokens:
        if tok.text in ("(", "["):
            depth += 1
        elif tok.text in (")", "]"):
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0 and at(tok):
            parts.append([])
        parts[-1].append(tok)
    return parts if depth == 0 else None


def _ident(tok: _Tok) -> str:
    return tok.text[1:-1].replace('""', '"') if tok.kind == "quoted" else tok.lower


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str | None:
    """`value` as a SQL literal DuckDB reads back as the same value; None if not written."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, str | uuid.UUID | dt.date | dt.time):
        return "'" + str(value).replace("'", "''") + "'"
    if isinstance(value, list | tuple):
        items = [literal(v) for v in value]
        return None if any(i is None for i in items) else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    return None


class _Rewriter:
    """Text of the statement's tokens, with its parameters kept or written as literals."""

    def __init__(self, sql: str, params: Sequence[Any]) -> None:
        self.sql = sql
        self.params = params
        self.kept: list[Any] = []  # parameters of the rewritten statement, in order

    def text(self, toks: list[_Tok]) -> str:
        return self.sql[toks[0].start : toks[-1].end] if toks else ""

    def inline(self, toks: list[_Tok], strip: set[str]) -> str | None:
        """The text of `toks` with parameters as literals and `strip` qualifiers dropped."""
        out: list[str] = []
        last = toks[0].start
        skip_dot = False
        for i, tok in enumerate(toks):
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if skip_dot:
                skip_dot = False
                last = tok.end
                continue
            if tok.kind in ("word", "quoted") and nxt is not None and nxt.text == ".":
                prev = toks[i - 1] if i else None
                if _ident(tok) in strip and (prev is None or prev.text != "."):
                    out.append(self.sql[last : tok.start])
                    last, skip_dot = tok.end, True
                    continue
            if tok.kind == "param":
                written = self.param_literal(tok)
                if written is None:
                    return None
                out.append(self.sql[last : tok.start] + written)
                last = tok.end
        out.append(self.sql[last : toks[-1].end])
        return "".join(out)

    def param_literal(self, tok: _Tok) -> str | None:
        index = int(tok.text[1:]) - 1
        return literal(self.params[index]) if index < len(self.params) else None

    def keep(self, tok: _Tok) -> str | None:
        """A parameter that stays one: renumbered in the rewritten statement."""
        index = int(tok.text[1:]) - 1
        if index >= len(self.params):
            return None
        self.kept.append(self.params[index])
        return f"${len(self.kept)}"


def rewrite_nearest(
    sql: str,
    params: Sequence[Any],
    schema_of: Callable[[str], Schema | None],
    ef_search: int | None = None,
) -> tuple[str, list[Any]] | None:
    """(statement, parameters) as a vector search, or None to run `sql` as written.
    `ef_search`: the session's `hnsw.ef_search` (pgvector's knob), the search's `ef`."""
    if "order" not in sql.lower() or not any(op in sql for op in METRIC_OF_OPERATOR):
        return None
    if "?" in sql:
        try:
            sql = number_placeholders(sql)  # the embedded API's '?' parameters, as $n
        except TokenError:
            return None
    tokens = _tokens(sql)
    if not tokens or tokens[0].lower != "select":
        return None
    if any(t.kind == "word" and t.lower in _REFUSED for t in tokens):
        return None
    parts = _split(tokens, lambda t: t.kind == "word" and t.lower in _CLAUSES)
    if parts is None:
        return None
    clauses: dict[str, list[_Tok]] = {"select": parts[0][1:]}
    for part in parts[1:]:
        key = part[0].lower
        if key in clauses:
            return None
        clauses[key] = part[1:]
    if list(clauses) not in (
        ["select", "from", "order", "limit"],
        ["select", "from", "where", "order", "limit"],
        ["select", "from", "order", "limit", "offset"],
        ["select", "from", "where", "order", "limit", "offset"],
    ):
        return None
    found = _source(clauses["from"])
    if found is None:
        return None
    name, alias = found
    schema = schema_of(name)
    if schema is None:
        return None
    return _Plan(sql, params, schema, alias, clauses, ef_search).build()


def _source(toks: list[_Tok]) -> tuple[str, str | None] | None:
    """(namespace, alias) of `[public.]ns [[AS] alias]`."""
    if len(toks) >= 3 and toks[1].text == ".":
        if _ident(toks[0]) not in ("public", "main"):
            return None
        toks = toks[2:]
    if not toks or toks[0].kind not in ("word", "quoted"):
        return None
    rest = toks[1:]
    if rest and rest[0].lower == "as":
        rest = rest[1:]
    if len(rest) > 1 or (rest and rest[0].kind not in ("word", "quoted")):
        return None
    return _ident(toks[0]), (_ident(rest[0]) if rest else None)


class _Plan(_Rewriter):
    def __init__(
        self,
        sql: str,
        params: Sequence[Any],
        schema: Schema,
        alias: str | None,
        clauses: dict[str, list[_Tok]],
        ef_search: int | None,
    ) -> None:
        super().__init__(sql, params)
        self.ef_search = ef_search
        self.schema = schema
        self.alias = alias
        self.clauses = clauses
        self.qualifiers = {schema.name} | ({alias} if alias else set())

    def distance(self, toks: list[_Tok]) -> tuple[str, list[_Tok]] | None:
        """(vector column, query tokens) of `[q.]column <op> query` by the namespace's
        metric, else None."""
        if len(toks) >= 3 and toks[1].text == "." and _ident(toks[0]) in self.qualifiers:
            toks = toks[2:]
        if len(toks) < 3 or toks[0].kind not in ("word", "quoted"):
            return None
        column, op, query = _ident(toks[0]), toks[1].text, toks[2:]
        if METRIC_OF_OPERATOR.get(op) != self.schema.options.metric:
            return None
        if column not in self.schema.names or not self.schema.column(column).is_vector:
            return None
        if any(t.text in METRIC_OF_OPERATOR for t in query):
            return None
        return column, query

    def build(self) -> tuple[str, list[Any]] | None:
        items = _split(self.clauses["select"], lambda t: t.text == ",")
        order = self.clauses["order"]
        if items is None or len(order) < 2 or order[0].lower != "by":
            return None
        order = order[1:]
        if order[-1].lower == "asc":
            order = order[:-1]
        keys = _split(order, lambda t: t.text == ",")
        if keys is None or len(keys) > 1 or any(t.lower in ("desc", "nulls") for t in order):
            return None  # several sort keys, or farthest first: not a nearest search
        items = [i[1:] if i and i[0].text == "," else i for i in items]
        target = self.distance(order)
        if target is None and len(order) == 1:  # ORDER BY the alias of the distance item
            for item in items:
                if (
                    len(item) > 2
                    and item[-2].lower == "as"
                    and _ident(item[-1]) == _ident(order[0])
                ):
                    target = self.distance(item[:-2])
        if target is None:
            return None
        column, query = target
        limit = self.count(self.clauses["limit"])
        offset = self.count(self.clauses.get("offset", [])) if "offset" in self.clauses else 0
        if not limit or offset is None or limit + offset > MAX_K:
            return None  # LIMIT 0 is no search; past MAX_K rows DuckDB's exact scan answers
        select = self.select_list(items, column, query)
        q = self.query_text(query)
        if select is None or q is None:
            return None
        options = [f'"column" := {_literal_text(column)}']
        if self.ef_search is not None:
            options.append(f"ef := {self.ef_search}")
        if "where" in self.clauses:
            filter_sql = self.inline(self.clauses["where"], self.qualifiers)
            if filter_sql is None or not admits(filter_sql, self.schema):
                return None  # not a filter the search takes (a subquery): DuckDB runs it
            options.append(f"filter := {_literal_text(filter_sql)}")
        source = (
            f"vector_search({_literal_text(self.schema.name)}, {q}, {limit + offset}, "
            + ", ".join(options)
            + ")"
            + (f" AS {_quote(self.alias)}" if self.alias else "")
        )
        tail = f" ORDER BY {DISTANCE} LIMIT {limit}" + (f" OFFSET {offset}" if offset else "")
        return f"SELECT {select} FROM {source}{tail}", self.kept

    def count(self, toks: list[_Tok]) -> int | None:
        if len(toks) != 1:
            return None
        tok = toks[0]
        value: Any = int(tok.text) if tok.kind == "number" and tok.text.isdigit() else None
        if tok.kind == "param":
            index = int(tok.text[1:]) - 1
            value = self.params[index] if index < len(self.params) else None
            value = int(value) if isinstance(value, str) and value.isdigit() else value
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def query_text(self, query: list[_Tok]) -> str | None:
        """The query vector as the search's argument: a parameter stays one (casts to
        vector dropped: the search takes a float list), anything else is inlined."""
        if query[0].kind == "param" and (len(query) == 1 or query[1].text == "::"):
            rest = query[1:]
            if rest and not all(t.lower in ("::", "vector", "float", "[", "]") or
                                t.kind == "number" for t in rest):  # fmt: skip
                return None
            return self.keep(query[0])
        return self.inline(query, self.qualifiers)

    def same_query(self, a: list[_Tok], b: list[_Tok]) -> bool:
        """Whether two query vectors are the same: the same text, or parameters (clients
        number each `%s` anew) with equal values."""
        if _words(a) == _words(b):
            return True
        if a[0].kind != "param" or b[0].kind != "param" or _words(a[1:]) != _words(b[1:]):
            return False
        i, j = int(a[0].text[1:]) - 1, int(b[0].text[1:]) - 1
        if max(i, j) >= len(self.params):
            return False
        try:
            return bool(np.array_equal(np.asarray(self.params[i]), np.asarray(self.params[j])))
        except (TypeError, ValueError):
            return False

    def select_list(self, items: list[list[_Tok]], column: str, query: list[_Tok]) -> str | None:
        out = []
        for item in items:
            if not item:
                return None
            star = len(item) == 1 and item[0].text == "*"
            if star or (
                len(item) == 3 and item[2].text == "*" and _ident(item[0]) in self.qualifiers
            ):
                prefix = self.text(item[:2]) if len(item) == 3 else ""
                out.extend(prefix + _quote(c.name) for c in self.schema.visible)
                continue
            aliased = len(item) > 2 and item[-2].lower == "as"
            expr = item[:-2] if aliased else item
            found = self.distance(expr)
            if found is not None:
                if found[0] != column or not self.same_query(found[1], query):
                    return None  # another query vector: a second distance to compute
                name = _ident(item[-1]) if aliased else "?column?"
                out.append(f"{DISTANCE} AS {_quote(name)}")
                continue
            if any(t.kind == "param" for t in item) or any(
                t.text in METRIC_OF_OPERATOR for t in item
            ):
                return None
            out.append(self.text(item))
        return ", ".join(out)


def _words(toks: list[_Tok]) -> list[str]:
    return [t.text for t in toks]


def _literal_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
