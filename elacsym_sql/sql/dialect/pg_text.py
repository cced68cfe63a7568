"""Postgres's text forms of values that DuckDB reads otherwise, read here.

Array literals ('{1,"a b",NULL}', nested braces; DuckDB writes lists `[...]`), bytea
('\\x00ff' hex or the escape format; DuckDB reads '\\x..' as escapes), interval text as
Postgres writes it ('-3 days +04:05:06', ISO 8601). Used for wire parameters and COPY
(server/) and for literals in statements (pg_literals.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ...errors import InvalidTextRepresentation, ProgramLimitExceeded, shown
from ..pg_catalog import pg_types as t

MAX_DIMENSIONS = 6  # Postgres's MAXDIM

# Element types whose text never needs quotes: a flat array of them splits on commas.
_PLAIN_NUMBERS = {t.INT2: int, t.INT4: int, t.INT8: int, t.OID: int, t.FLOAT4: float,
                  t.FLOAT8: float}  # fmt: skip


def text_array(text: str, element: int, decode: Callable[[str, int], Any]) -> list[Any]:
    """A Postgres array literal ('{1,2,"a b",NULL}', nested braces) to nested lists, each
    item read by `decode(item text, element)`."""
    number = _PLAIN_NUMBERS.get(element)
    plain = text[:1] == "{" and text[-1:] == "}" and "{" not in text[1:] and '"' not in text
    # pgvector's text form '[1,2,3]': a vector parameter where the statement wants floats
    # (pg8000 and psycopg2 send vectors so, untyped).
    plain = plain or (
        number is float and text[:1] == "[" and text[-1:] == "]" and "[" not in text[1:]
    )
    if number is not None and plain:
        # A vector: thousands of numbers, read without the general parser's per-character
        # loop (node `pg` quotes each number: those take the loop). float() reads
        # Postgres's Infinity and NaN too.
        body = text[1:-1]
        if not body.strip():
            return []
        items = body.split(",")
        if "N" in body or "n" in body:  # NULL, NaN
            return [None if i.strip().upper() == "NULL" else number(i) for i in items]
        return [number(i) for i in items]
    pos = text.find("{")  # skips a '[1:3]=' bounds prefix
    if pos < 0:
        raise InvalidTextRepresentation(f"malformed array literal: {shown(text)}")
    value, end = _array_at(text, pos, element, decode, 1)
    if text[end:].strip():
        raise InvalidTextRepresentation(f"malformed array literal: {shown(text)}")
    return value


def _array_at(
    text: str, pos: int, element: int, decode: Callable[[str, int], Any], depth: int
) -> tuple[list[Any], int]:
    if depth > MAX_DIMENSIONS:
        raise ProgramLimitExceeded(
            f"number of array dimensions ({depth}) exceeds the maximum allowed ({MAX_DIMENSIONS})"
        )
    out: list[Any] = []
    pos += 1  # past '{'
    while pos < len(text):
        ch = text[pos]
        if ch == "}":
            return out, pos + 1
        if ch in ", \t\n":
            pos += 1
        elif ch == "{":
            inner, pos = _array_at(text, pos, element, decode, depth + 1)
            out.append(inner)
        elif ch == '"':
            chars, pos = [], pos + 1
            while pos < len(text) and text[pos] != '"':
                if text[pos] == "\\":
                    pos += 1
                chars.append(text[pos : pos + 1])
                pos += 1
            out.append(decode("".join(chars), element))
            pos += 1
        else:
            end = pos
            while end < len(text) and text[end] not in ",}":
                end += 1
            item = text[pos:end].strip()
            out.append(None if item.upper() == "NULL" else decode(item, element))
            pos = end
    raise InvalidTextRepresentation(f"malformed array literal: {shown(text)}")


# -- as DuckDB lists -----------------------------------------------------------------------


def _keep(item: str, _element: int) -> str:
    return item


def looks_like_array(text: str) -> bool:
    return text.lstrip()[:1] == "{" and text.rstrip()[-1:] == "}"


def duck_list_sql(text: str) -> str:
    """A Postgres array literal as a DuckDB list of text items (`['a b', NULL]`), which
    DuckDB casts item by item to the list type its context wants."""
    return _list_sql(text_array(text, t.TEXT, _keep))


def _list_sql(items: list[Any]) -> str:
    parts = []
    for item in items:
        if item is None:
            parts.append("NULL")
        elif isinstance(item, list):
            parts.append(_list_sql(item))
        else:
            parts.append("'" + item.replace("'", "''") + "'")
    return "[" + ", ".join(parts) + "]"


def bytea(text: str) -> bytes:
    """Postgres's bytea input: hex ('\\x00ff') or escape format ('a\\000\\\\')."""
    if text.startswith("\\x"):
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            raise InvalidTextRepresentation(f"invalid hexadecimal data: {shown(text)}") from None
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] != "\\":
            out += text[i].encode()
            i += 1
        elif text[i + 1 : i + 2] == "\\":
            out.append(0x5C)
            i += 2
        elif len(text) >= i + 4 and all(c in "01234567" for c in text[i + 1 : i + 4]):
            out.append(int(text[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            raise InvalidTextRepresentation("invalid input syntax for type bytea")
    return bytes(out)


_ISO_INTERVAL = re.compile(
    r"P(?:(?P<Y>[-\d.]+)Y)?(?:(?P<M>[-\d.]+)M)?(?:(?P<W>[-\d.]+)W)?(?:(?P<D>[-\d.]+)D)?"
    r"(?:T(?:(?P<h>[-\d.]+)H)?(?:(?P<m>[-\d.]+)M)?(?:(?P<s>[-\d.]+)S)?)?",
    re.IGNORECASE,
)
_ISO_UNITS = {"Y": "years", "M": "months", "W": "weeks", "D": "days", "h": "hours",
              "m": "minutes", "s": "seconds"}  # fmt: skip


def interval_input(text: str) -> str:
    """Postgres's interval text as DuckDB reads it: Postgres writes a '+' before a positive
    field that follows a negative one ('-3 days +04:05:06'), and reads ISO 8601
    ('P1Y2M3DT4H'); DuckDB reads neither."""
    iso = _ISO_INTERVAL.fullmatch(text.strip())
    if iso and any(iso.groupdict().values()):
        return " ".join(f"{v} {_ISO_UNITS[k]}" for k, v in iso.groupdict().items() if v)
    return re.sub(r"(?<![\w.])\+(?=\d)", "", text)
