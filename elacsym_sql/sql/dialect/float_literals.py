"""Float literals out of range, refused as Postgres refuses them (22003).

DuckDB reads '1e999'::DOUBLE as Infinity; Postgres refuses it ("1e999" is out of range
for type double precision) and reserves Infinity for its spellings ('Infinity', 'inf').
Checked on the statement's text, for string literals cast to a float type
('x'::float8, CAST('x' AS real), float8 'x'), and for text parameters so cast or written
into a float column of a namespace (drivers send '1e999' as untyped text, which Postgres
reads as the column's type): values computed at run time are DuckDB's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ...errors import NumericValueOutOfRange
from ..parse import DIALECT

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


def check_float_literals(sql: str, params: Sequence[Any] = ()) -> None:
    """Raise 22003 for a string literal or text parameter cast to a float type whose value
    is out of range."""
    lowered = sql.lower()
    texts = any(isinstance(p, str) for p in params)
    if ("'" not in sql and not texts) or not any(m in lowered for m in _MARKERS):
        return
    try:
        tokens = sqlglot.tokenize(sql, read=DIALECT)
    except TokenError:
        return
    qmarks = 0
    for i, tok in enumerate(tokens):
        if tok.token_type == TokenType.STRING:
            target = _cast_type(tokens, i)
            if target is not None:
                check_float_text(tok.text, target)
            continue
        number = _parameter_number(tokens, i)
        if number is None:
            continue
        if number == 0:  # `?`: numbered in order
            qmarks += 1
            number = qmarks
        last = i + 1 if tokens[i].text == "$" else i
        target = _parameter_cast(tokens, i, last)
        value = params[number - 1] if number <= len(params) else None
        if target is not None and isinstance(value, str):
            check_float_text(value, target)


def check_float_parameter(
    expr: exp.Expression, column_type: str | None, params: Sequence[Any]
) -> None:
    """Raise 22003 for a text parameter written as the value of a float column (`$1`,
    `-$1`) that is out of the column type's range."""
    kind = COLUMN_FLOATS.get(column_type or "")
    if isinstance(expr, exp.Neg):
        expr = expr.this
    if kind is None or not isinstance(expr, exp.Placeholder) or not str(expr.this).isdigit():
        return
    number = int(str(expr.this))
    value = params[number - 1] if 0 < number <= len(params) else None
    if isinstance(value, str):
        check_float_text(value, kind)


def check_float_column(values: pa.ChunkedArray, column_type: str) -> None:
    """Raise 22003 for a text value (a COPY field) of a float column that is out of the
    column type's range. Only text with an exponent, or too long for any float's usual
    digits, can be: those are checked one by one."""
    kind = COLUMN_FLOATS.get(column_type)
    if kind is None or not pa.types.is_string(values.type):
        return
    doubtful = pc.or_(
        pc.match_substring_regex(values, "[eE]"), pc.greater(pc.utf8_length(values), 15)
    )
    for text in pc.filter(values, doubtful).to_pylist():
        check_float_text(text, kind)


def _parameter_number(tokens: list[Token], i: int) -> int | None:
    """The number of a `$n` parameter at `i`, 0 for a `?`, None for other tokens."""
    tok = tokens[i]
    if tok.token_type == TokenType.PLACEHOLDER and tok.text == "?":
        return 0
    if (tok.token_type == TokenType.PARAMETER and i + 1 < len(tokens)
            and tokens[i + 1].token_type == TokenType.NUMBER):  # fmt: skip
        return int(tokens[i + 1].text)
    return None


def _parameter_cast(tokens: list[Token], first: int, last: int) -> str | None:
    """The float type a parameter (tokens first..last) is cast to, if it is one."""

    def word(j: int) -> str:
        return tokens[j].text.lower() if 0 <= j < len(tokens) else ""

    if word(last + 1) == "::" and word(last + 2) in _FLOAT_TYPES:
        return word(last + 2)
    if word(first - 2) == "cast" and word(first - 1) == "(" and word(last + 1) == "as":
        return word(last + 2) if word(last + 2) in _FLOAT_TYPES else None
    return None


# A namespace column's type (schema.py) -> the type word above.
COLUMN_FLOATS = {"DOUBLE": "float8", "FLOAT": "float4"}
_NONZERO = re.compile(r"[1-9]")


def check_float_text(text: str, type_word: str) -> None:
    """Raise 22003, in Postgres's words, when `text` (a number as written) is out of the
    range of float type `type_word` (a key of _FLOAT_TYPES): too large (DuckDB would read
    Infinity) or too small to be told from zero (DuckDB would read 0). Postgres's own
    spellings of infinity and NaN pass; text that is no number is DuckDB's to refuse."""
    try:
        value = float(text)
    except ValueError:
        return
    if "inf" in text.lower() or math.isnan(value):  # 'Infinity', '-inf', 'NaN'
        return
    name, largest = _FLOAT_TYPES[type_word]
    smallest = float(np.finfo(np.float32 if name == "real" else np.float64).smallest_subnormal)
    mantissa = text.lower().split("e")[0]
    underflow = abs(value) < smallest and _NONZERO.search(mantissa) is not None
    if abs(value) > largest or underflow:
        raise NumericValueOutOfRange(f'"{text.strip()}" is out of range for type {name}')


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
