"""Float literals out of range, refused as Postgres refuses them (22003).

DuckDB reads '1e999'::DOUBLE as Infinity; Postgres refuses it ("1e999" is out of range
for type double precision) and reserves Infinity for its spellings ('Infinity', 'inf').
Checked on the statement's text, for string literals cast to a float type
('x'::float8, CAST('x' AS real), float8 'x'): values computed at run time are DuckDB's.
"""

from __future__ import annotations

import math

import numpy as np
import sqlglot
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ..errors import NumericValueOutOfRange
from .parse import DIALECT

# Type words (as sqlglot's tokens read them) -> Postgres's type name and the largest value.
_FLOAT_TYPES = {
    "float8": ("double precision", float(np.finfo(np.float64).max)),
    "double": ("double precision", float(np.finfo(np.float64).max)),
    "double precision": ("double precision", float(np.finfo(np.float64).max)),
    "float": ("double precision", float(np.finfo(np.float64).max)),
    "float4": ("real", float(np.finfo(np.float32).max)),
    "real": ("real", float(np.finfo(np.float32).max)),
}
_MARKERS = ("float", "double", "real")


def check_float_literals(sql: str) -> None:
    """Raise 22003 for a string literal cast to a float type whose value is out of range."""
    lowered = sql.lower()
    if "'" not in sql or not any(m in lowered for m in _MARKERS):
        return
    try:
        tokens = sqlglot.tokenize(sql, read=DIALECT)
    except TokenError:
        return
    for i, tok in enumerate(tokens):
        if tok.token_type != TokenType.STRING:
            continue
        target = _cast_type(tokens, i)
        if target is None:
            continue
        name, largest = _FLOAT_TYPES[target]
        try:
            value = float(tok.text)
        except ValueError:
            continue  # not a number: DuckDB says so
        spelled_infinity = "inf" in tok.text.lower()  # 'Infinity', '-inf': Postgres's too
        if not spelled_infinity and not math.isnan(value) and abs(value) > largest:
            raise NumericValueOutOfRange(f'"{tok.text}" is out of range for type {name}')


def _cast_type(tokens: list[Token], i: int) -> str | None:
    """The float type the string literal at `i` is cast to, if it is one."""

    def word(j: int) -> str:
        return tokens[j].text.lower() if 0 <= j < len(tokens) else ""

    if word(i + 1) == "::" and word(i + 2) in _FLOAT_TYPES:
        return word(i + 2)
    if word(i - 2) == "cast" and word(i - 1) == "(" and word(i + 1) == "as":
        return word(i + 2) if word(i + 2) in _FLOAT_TYPES else None
    if word(i - 1) in _FLOAT_TYPES and word(i - 2) not in ("as", "::"):
        return word(i - 1)  # float8 '1e999'
    return None
