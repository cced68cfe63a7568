"""Plain search statements answered without DuckDB.

A statement of exactly the shape

    SELECT <columns | *> FROM vector_search|text_search('ns', <arg>, <k>[, name := value ...])
        [ORDER BY _distance | _score DESC] [LIMIT n]

spends most of its time in parsing and in DuckDB's per-statement overhead (~2 ms here), not
in the search (~0.2 ms). Such statements are recognised by a small lexer and run straight
on the engine; anything else (joins, expressions, casts we do not know, comments...) goes
the general way, so this is only ever a shortcut to the same rows (tests compare the two).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..engine import Engine
from ..engine.search import DISTANCE, SCORE
from ..schema import NAME_RE
from .search_runner import SearchRunner
from .views import ViewCatalog

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<param>\?|\$[1-9][0-9]*)
    | (?P<number>-?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<quoted>"[a-z_][a-z0-9_]*")
    | (?P<op>::|:=|=>|[(),.*\[\];])
    )""",
    re.VERBOSE,
)
# Casts a query vector may carry: to a float array (any size; the search checks the size).
_VECTOR_CASTS = {"float", "float4", "real", "double", "float8"}
_TEXT_CASTS = {"text", "varchar"}
_OPTIONS = {
    "vector_search": {"column", "filter", "ef", "exact"},
    "text_search": {"columns", "filter", "mode"},
}
_ORDER = {"vector_search": (DISTANCE, "ASC"), "text_search": (SCORE, "DESC")}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str

    @property
    def lower(self) -> str:
        return self.text.lower()


@dataclass
class DirectSearch:
    """A recognised statement with its values bound."""

    function: str
    namespace: str
    columns: list[str] | None  # None: every column
    query: Any  # the vector or text
    k: Any
    options: dict[str, Any]
    limit: int | None


def _tokens(sql: str) -> list[_Token] | None:
    out, pos = [], 0
    end = len(sql.rstrip())
    while pos < end:
        m = _TOKEN.match(sql, pos)
        if m is None or m.end() == pos:
            return None
        kind = m.lastgroup
        assert kind is not None
        out.append(_Token(kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    """Reads the one statement shape; any surprise returns None (use the general path)."""

    def __init__(self, tokens: list[_Token], params: Sequence[Any]) -> None:
        self.tokens = tokens
        self.params = params
        self.i = 0
        self.style: str | None = None  # '?' or '$': the two cannot mix
        self.next_qmark = 0
        self.used: set[int] = set()

    def peek(self, offset: int = 0) -> _Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self, kind: str | None = None, text: str | None = None) -> _Token | None:
        tok = self.peek()
        if tok is None or (kind and tok.kind != kind) or (text and tok.lower != text):
            return None
        self.i += 1
        return tok

    def statement(self) -> DirectSearch | None:
        if not self.take("word", "select"):
            return None
        columns = self.select_list()
        if columns is _NO or not self.take("word", "from"):
            return None
        fn = self.take("word")
        if fn is None or fn.lower not in _OPTIONS or not self.take("op", "("):
            return None
        ns = self.take("string")
        if ns is None or not NAME_RE.fullmatch(ns.text[1:-1]) or not self.take("op", ","):
            return None
        query = self.value(_VECTOR_CASTS if fn.lower == "vector_search" else _TEXT_CASTS)
        if query is _NO or not self.take("op", ","):
            return None
        k = self.value(set())
        if k is _NO:
            return None
        options: dict[str, Any] = {}
        while self.take("op", ","):
            name = self.take("word")
            name = name or self.take("quoted")  # "column" := works as well
            if name is None or name.lower.strip('"') not in _OPTIONS[fn.lower]:
                return None
            option = name.lower.strip('"')
            if option in options or not (self.take("op", ":=") or self.take("op", "=>")):
                return None
            options[option] = self.value(set())
            if options[option] is _NO:
                return None
        if not self.take("op", ")") or not self.order_by(fn.lower):
            return None
        limit = None
        if self.take("word", "limit"):
            number = self.take("number")
            if number is None or not number.text.isdigit():
                return None
            limit = int(number.text)
        self.take("op", ";")
        if self.peek() is not None or len(self.used) != len(self.params):
            return None  # leftovers, or parameters DuckDB would complain about
        return DirectSearch(fn.lower, ns.text[1:-1], columns, query, k, options, limit)

    def select_list(self) -> Any:
        """Column names, None for `*`, or _NO."""
        if self.take("op", "*"):
            return None
        names = []
        while True:
            tok = self.take("word") or self.take("quoted")
            if tok is None:
                return _NO
            names.append(tok.text[1:-1] if tok.kind == "quoted" else tok.lower)
            if not self.take("op", ","):
                return names

    def order_by(self, function: str) -> bool:
        if not self.take("word", "order"):
            return True
        column, direction = _ORDER[function]
        if not self.take("word", "by") or not self.take("word", column):
            return False
        given = self.take("word", direction.lower()) or self.take("word", "asc")
        return direction == "ASC" or (given is not None and given.lower == "desc")

    def value(self, casts: set[str]) -> Any:
        """A literal or a parameter, optionally cast to one of `casts` (a list type when the
        set names float types)."""
        tok = self.take()
        if tok is None:
            return _NO
        if tok.kind == "param":
            value = self.param(tok.text)
        elif tok.kind == "string":
            value = tok.text[1:-1].replace("''", "'")
        elif tok.kind == "number":
            value = float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        elif tok.kind == "word" and tok.lower in ("true", "false", "null"):
            value = {"true": True, "false": False, "null": None}[tok.lower]
        elif tok.kind == "op" and tok.text == "[":
            value = self.list_literal()
        else:
            return _NO
        if self.take("op", "::") and not self.cast(casts):
            return _NO
        return value

    def cast(self, casts: set[str]) -> bool:
        name = self.take("word")
        if name is None or name.lower not in casts:
            return False
        if casts is _VECTOR_CASTS:  # float4[] or FLOAT[384]
            if not self.take("op", "["):
                return False
            self.take("number")
            return self.take("op", "]") is not None
        return True

    def list_literal(self) -> Any:
        items = []
        while not self.take("op", "]"):
            if items and not self.take("op", ","):
                return _NO
            number = self.take("number")
            if number is None:
                return _NO
            items.append(float(number.text))
        return items

    def param(self, text: str) -> Any:
        style = text[0]
        if self.style not in (None, style):
            return _NO
        self.style = style
        if style == "?":
            index = self.next_qmark
            self.next_qmark += 1
        else:
            index = int(text[1:]) - 1
        if index >= len(self.params):
            return _NO
        self.used.add(index)
        return self.params[index]


_NO: Any = object()  # "not a value we handle": fall back to the general path


def recognise(sql: str, params: Sequence[Any]) -> DirectSearch | None:
    """The search this statement is, if it is one of the plain shapes, else None."""
    head = sql.lstrip()[:6].lower()
    if head != "select" or "_search" not in sql:
        return None
    tokens = _tokens(sql)
    if tokens is None:
        return None
    found = _Parser(tokens, params).statement()
    if found is None or not _plain_values(found):
        return None
    return found


def _plain_values(found: DirectSearch) -> bool:
    """Values the search takes as they are; other types go through DuckDB's casts."""
    if found.function == "vector_search":
        q = found.query
        if isinstance(q, np.ndarray):
            if q.ndim != 1 or q.dtype.kind not in "fi":
                return False
        elif not isinstance(q, list | tuple) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in q
        ):
            return False
    elif not isinstance(found.query, str):
        return False
    if isinstance(found.k, bool) or not isinstance(found.k, int):
        return False
    types = {
        "column": str,
        "columns": str,
        "filter": str,
        "mode": str,
        "ef": int,
        "exact": bool,
    }
    return all(
        v is None or (isinstance(v, types[n]) and (n == "exact" or not isinstance(v, bool)))
        for n, v in found.options.items()
    )


class DirectPath:
    def __init__(self, engine: Engine, views: ViewCatalog, runner: SearchRunner) -> None:
        self._engine = engine
        self._views = views
        self._runner = runner

    def run(self, found: DirectSearch) -> tuple[pa.Table, list[str]] | None:
        """(rows as an Arrow table, their SQL types), or None when the statement's columns
        are not all result columns (DuckDB then reports the error its own way)."""
        opts = found.options
        if opts.get("filter"):  # the filter reads the view: bring it to the snapshot
            snap = self._views.refresh_one(found.namespace)
        else:
            snap = self._engine.namespace(found.namespace).snapshot()
        schema = snap.schema
        vector = found.function == "vector_search"
        if not (schema.vector_columns if vector else schema.options.full_text):
            return None  # the namespace has no such function: DuckDB reports it
        score = DISTANCE if vector else SCORE
        types = {c.name: c.type for c in schema.columns} | {score: "FLOAT"}
        columns = found.columns or list(types)
        if any(n not in types for n in columns):
            return None
        if vector:
            result = self._runner.vector(
                snap,
                [np.asarray(found.query, dtype=np.float32)],
                found.k,
                opts.get("column"),
                opts.get("filter"),
                opts.get("ef"),
                opts.get("exact") or False,
            )
        else:
            result = self._runner.text(
                snap,
                [found.query],
                found.k,
                opts.get("columns"),
                opts.get("filter"),
                opts.get("mode") or "or",
            )
        rows = result.rows.select(columns)
        if found.limit is not None:
            rows = rows.slice(0, found.limit)
        return rows, [types[n] for n in columns]
