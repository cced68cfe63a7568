"""Bind parameters: wire bytes (text or binary, by type OID) to the Python values DuckDB binds.

Type OID 0 (unknown) is text: a client that sends '2024-01-01' as a string meant a string,
and DuckDB casts it where the statement needs another type, as Postgres does.
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np

from ..sql import pg_types as t

PG_EPOCH = dt.datetime(2000, 1, 1)
PG_EPOCH_DATE = dt.date(2000, 1, 1)
UTC = dt.UTC


class ParameterError(ValueError):
    """A parameter's bytes do not read as its type (SQLSTATE 22P02)."""


def decode(raw: bytes | None, oid: int, binary: bool) -> Any:
    if raw is None:
        return None
    try:
        return _binary(raw, oid) if binary else _text(raw.decode("utf-8"), oid)
    except ParameterError:
        raise
    except (ValueError, struct.error, UnicodeDecodeError, IndexError) as exc:
        name = t.BY_OID[oid].name if oid in t.BY_OID else f"type {oid}"
        raise ParameterError(f"invalid {'binary' if binary else 'text'} {name}: {exc}") from None


# -- text format -----------------------------------------------------------------------


def _text(text: str, oid: int) -> Any:
    pg = t.BY_OID.get(oid)
    if pg is not None and pg.element:
        return _parse_array(text, pg.element)
    convert = _TEXT.get(oid)
    return text if convert is None else convert(text)


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("t", "true", "yes", "on", "1", "y"):
        return True
    if value in ("f", "false", "no", "off", "0", "n"):
        return False
    raise ValueError(f"{text!r} is not a boolean")


def _float(text: str) -> float:
    return float({"Infinity": "inf", "-Infinity": "-inf", "NaN": "nan"}.get(text, text))


def _temporal(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """ISO text to a Python value; other spellings ('infinity', 'epoch') stay text for
    DuckDB to read."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError:
            return text

    return convert


def _bytea(text: str) -> bytes:
    if text.startswith("\\x"):
        return bytes.fromhex(text[2:])
    return text.encode("latin-1")  # escape format: rare; take the bytes as they are


_TEXT: dict[int, Callable[[str], Any]] = {
    t.BOOL: _bool,
    t.INT2: int,
    t.INT4: int,
    t.INT8: int,
    t.OID: int,
    t.FLOAT4: _float,
    t.FLOAT8: _float,
    t.NUMERIC: Decimal,
    t.BYTEA: _bytea,
    t.DATE: _temporal(dt.date.fromisoformat),
    t.TIMESTAMP: _temporal(dt.datetime.fromisoformat),
    t.TIMESTAMPTZ: _temporal(dt.datetime.fromisoformat),
    t.TIME: _temporal(dt.time.fromisoformat),
    t.UUID: uuid.UUID,
}


# Element types whose text never needs quotes: a flat array of them splits on commas.
_PLAIN_NUMBERS = {t.INT2: int, t.INT4: int, t.INT8: int, t.OID: int, t.FLOAT4: float,
                  t.FLOAT8: float}  # fmt: skip


def _parse_array(text: str, element: int) -> list[Any]:
    """A Postgres array literal ('{1,2,"a b",NULL}', nested braces) to nested lists."""
    number = _PLAIN_NUMBERS.get(element)
    if number is not None and text[:1] == "{" and text[-1:] == "}" and "{" not in text[1:]:
        # A vector: thousands of numbers, read without the general parser's per-character
        # loop. float() reads Postgres's Infinity and NaN too.
        body = text[1:-1]
        if not body.strip():
            return []
        items = body.split(",")
        if "N" in body or "n" in body:  # NULL, NaN
            return [None if i.strip().upper() == "NULL" else number(i) for i in items]
        return [number(i) for i in items]
    pos = text.find("{")  # skips a '[1:3]=' bounds prefix
    if pos < 0:
        raise ValueError(f"malformed array literal {text!r}")
    value, end = _array_at(text, pos, element)
    if text[end:].strip():
        raise ValueError(f"junk after array literal {text!r}")
    return value


def _array_at(text: str, pos: int, element: int) -> tuple[list[Any], int]:
    out: list[Any] = []
    pos += 1  # past '{'
    while pos < len(text):
        ch = text[pos]
        if ch == "}":
            return out, pos + 1
        if ch in ", \t\n":
            pos += 1
        elif ch == "{":
            inner, pos = _array_at(text, pos, element)
            out.append(inner)
        elif ch == '"':
            chars, pos = [], pos + 1
            while text[pos] != '"':
                if text[pos] == "\\":
                    pos += 1
                chars.append(text[pos])
                pos += 1
            out.append(_text("".join(chars), element))
            pos += 1
        else:
            end = pos
            while end < len(text) and text[end] not in ",}":
                end += 1
            item = text[pos:end].strip()
            out.append(None if item.upper() == "NULL" else _text(item, element))
            pos = end
    raise ValueError(f"unterminated array literal {text!r}")


# -- binary format ---------------------------------------------------------------------


def _binary(raw: bytes, oid: int) -> Any:
    pg = t.BY_OID.get(oid)
    if pg is not None and pg.element:
        return _binary_array(raw)
    convert = _BINARY.get(oid)
    if convert is None:
        return raw.decode("utf-8")  # text-like types, and unknown ones, are their UTF-8
    return convert(raw)


def _numeric(raw: bytes) -> Decimal:
    ndigits, weight, sign, dscale = struct.unpack_from("!hhHh", raw)
    if sign == 0xC000:
        return Decimal("NaN")
    if sign in (0xD000, 0xF000):
        return Decimal("Infinity") if sign == 0xD000 else Decimal("-Infinity")
    digits = struct.unpack_from(f"!{ndigits}h", raw, 8)
    value = 0
    for d in digits:
        value = value * 10000 + d
    exponent = (weight - ndigits + 1) * 4
    result = Decimal(value).scaleb(exponent)
    if sign == 0x4000:
        result = -result
    return result.quantize(Decimal(1).scaleb(-dscale)) if dscale >= 0 else result


def _interval(raw: bytes) -> Any:
    micros, days, months = struct.unpack("!qii", raw)
    if months == 0:
        return dt.timedelta(days=days, microseconds=micros)
    return f"{months} months {days} days {micros} microseconds"


def _timestamp(raw: bytes) -> dt.datetime:
    (micros,) = struct.unpack("!q", raw)
    return PG_EPOCH + dt.timedelta(microseconds=micros)


def _time(raw: bytes) -> dt.time:
    (micros,) = struct.unpack("!q", raw)
    return (dt.datetime.min + dt.timedelta(microseconds=micros)).time()


def _jsonb(raw: bytes) -> str:
    if raw[:1] != b"\x01":
        raise ValueError("unsupported jsonb version")
    return raw[1:].decode("utf-8")


_BINARY: dict[int, Callable[[bytes], Any]] = {
    t.BOOL: lambda b: b != b"\x00",
    t.INT2: lambda b: struct.unpack("!h", b)[0],
    t.INT4: lambda b: struct.unpack("!i", b)[0],
    t.INT8: lambda b: struct.unpack("!q", b)[0],
    t.OID: lambda b: struct.unpack("!I", b)[0],
    t.FLOAT4: lambda b: struct.unpack("!f", b)[0],
    t.FLOAT8: lambda b: struct.unpack("!d", b)[0],
    t.NUMERIC: _numeric,
    t.BYTEA: bytes,
    t.DATE: lambda b: PG_EPOCH_DATE + dt.timedelta(days=struct.unpack("!i", b)[0]),
    t.TIMESTAMP: _timestamp,
    t.TIMESTAMPTZ: lambda b: _timestamp(b).replace(tzinfo=UTC),
    t.TIME: _time,
    t.INTERVAL: _interval,
    t.UUID: lambda b: uuid.UUID(bytes=bytes(b)),
    t.JSONB: _jsonb,
}


# Fixed-size element types a flat binary array of can be read in one numpy call.
_FIXED = {t.INT2: ">i2", t.INT4: ">i4", t.INT8: ">i8", t.FLOAT4: ">f4", t.FLOAT8: ">f8"}


def _binary_array(raw: bytes) -> list[Any]:
    ndim, _flags, element = struct.unpack_from("!iiI", raw)
    dtype = _FIXED.get(element)
    if ndim == 1 and dtype is not None:
        (count,) = struct.unpack_from("!i", raw, 12)
        size = int(dtype[-1])
        # Each element is its length (int32) and its bytes; a NULL (length -1) makes the
        # array shorter than this, and is read by the general loop below.
        if len(raw) == 20 + count * (4 + size):
            items = np.frombuffer(raw, np.dtype([("n", ">i4"), ("v", dtype)]), count, 20)
            return items["v"].tolist()
    dims = [struct.unpack_from("!ii", raw, 12 + 8 * i)[0] for i in range(ndim)]
    pos = 12 + 8 * ndim
    flat: list[Any] = []
    total = 1
    for d in dims:
        total *= d
    for _ in range(total if ndim else 0):
        (n,) = struct.unpack_from("!i", raw, pos)
        pos += 4
        if n == -1:
            flat.append(None)
        else:
            flat.append(_binary(raw[pos : pos + n], element))
            pos += n
    for d in reversed(dims[1:]):  # regroup the flat elements into nested lists
        flat = [flat[i : i + d] for i in range(0, len(flat), d)]
    return flat
