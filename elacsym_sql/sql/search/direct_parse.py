"""Recognising the plain search statements the direct path answers (direct.py):

    SELECT <columns | *> FROM vector_search('ns', <vector>, <k> [, name := value ...])
    SELECT <columns | *> FROM text_search('ns', <text>, <k> [, ...])
    SELECT <columns | *> FROM hybrid_search('ns', <vector>, <text>, <k> [, ...])
        ... [ORDER BY <its score>] [LIMIT n]

with literals or parameters for values. A small regex lexer, not sqlglot: recognising must
cost far less than the search. Any surprise means "not plain" (the general path runs it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...engine import DISTANCE, SEARCH_FUNCTIONS
from ...schema import is_name

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
_CASTS = {"FLOAT[]": _VECTOR_CASTS, "VARCHAR": _TEXT_CASTS}
_VALUE_TYPES: dict[str, type | tuple[type, ...]] = {
    "VARCHAR": str, "BIGINT": int, "BOOLEAN": bool, "DOUBLE": (int, float), "DOUBLE[]": list,
}  # fmt: skip
# Each function's positional query arguments (by the casts they may carry; `k` follows
# them) and its options, as the search spec states them.
_QUERIES = {
    f.name: [_CASTS[p.sql_type] for p in f.required if p.name != "k"]
    for f in SEARCH_FUNCTIONS.values()
}
_OPTION_TYPES = {
    f.name: {p.name: _VALUE_TYPES[p.sql_type] for p in f.params if p.default is not None}
    for f in SEARCH_FUNCTIONS.values()
}
# ORDER BY the function's own ranking: its first score column, best first.
_ORDER = {
    f.name: (f.scores[0].name, "ASC" if f.scores[0].name == DISTANCE else "DESC")
    for f in SEARCH_FUNCTIONS.values()
}


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
    queries: list[Any]  # the vector, the text, or both (hybrid)
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
        if fn is None or fn.lower not in _QUERIES or not self.take("op", "("):
            return None
        ns = self.take("string")
        if ns is None or not is_name(ns.text[1:-1]) or not self.take("op", ","):
            return None
        queries = []
        for casts in _QUERIES[fn.lower]:
            queries.append(self.value(casts))
            if queries[-1] is _NO or not self.take("op", ","):
                return None
        k = self.value(set())
        if k is _NO:
            return None
        options: dict[str, Any] = {}
        while self.take("op", ","):
            name = self.take("word") or self.take("quoted")  # "column" := works as well
            if name is None or name.lower.strip('"') not in _OPTION_TYPES[fn.lower]:
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
        return DirectSearch(fn.lower, ns.text[1:-1], columns, queries, k, options, limit)

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
    for casts, value in zip(_QUERIES[found.function], found.queries, strict=True):
        if not (_is_vector(value) if casts is _VECTOR_CASTS else isinstance(value, str)):
            return False
    if isinstance(found.k, bool) or not isinstance(found.k, int):
        return False
    types = _OPTION_TYPES[found.function]
    for name, value in found.options.items():
        if value is None:
            continue
        if isinstance(value, bool) != (types[name] is bool) or not isinstance(value, types[name]):
            return False
        if name == "weights" and not _is_vector(value):
            return False
    return True


_NUMBER_TYPES = {int, float, np.float64}  # not bool: True is no coordinate


def _is_vector(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.ndim == 1 and value.dtype.kind in "fi"
    # set(map(type, ...)) runs in C: a 1,536-float vector is checked in microseconds.
    return isinstance(value, list | tuple) and set(map(type, value)) <= _NUMBER_TYPES
