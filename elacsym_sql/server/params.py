"""Bind parameters: wire bytes (text or binary, by type OID) to the Python values DuckDB binds.

Type OID 0 (unknown) is text: a client that sends '2024-01-01' as a string meant a string,
and DuckDB casts it where the statement needs another type, as Postgres does. A value that
does not read as its type is Postgres's error for it: 22021 (not UTF-8), 22P02 (text),
22P03 (binary), or what arrays.py says of an array.
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..errors import ElacsymError, InvalidBinaryRepresentation, InvalidTextRepresentation, shown
from ..sql.dialect.float_literals import check_float_text
from ..sql.dialect.pg_text import bytea, interval_input
from ..sql.pg_catalog import pg_types as t
from .arrays import binary_array, text_array
from .frontend import utf8

PG_EPOCH = dt.datetime(2000, 1, 1)
PG_EPOCH_DATE = dt.date(2000, 1, 1)
UTC = dt.UTC
# What a malformed value raises inside the converters below (Decimal's is ArithmeticError).
_MALFORMED = (ValueError, ArithmeticError, struct.error, IndexError)


def decode(raw: bytes | None, oid: int, binary: bool) -> Any:
    """The value of one parameter; raises an ElacsymError with Postgres's SQLSTATE."""
    if raw is None:
        return None
    return _binary(raw, oid) if binary else _text(utf8(raw), oid)


def _type_name(oid: int) -> str:
    return t.BY_OID[oid].name if oid in t.BY_OID else f"type {oid}"


# -- text format -----------------------------------------------------------------------


def _text(text: str, oid: int) -> Any:
    pg = t.BY_OID.get(oid)
    try:
        if pg is not None and pg.element:
            return text_array(text, pg.element, _text)
        convert = _TEXT.get(oid)
        return text if convert is None else convert(text)
    except _MALFORMED:
        raise InvalidTextRepresentation(
            f"invalid input syntax for type {_type_name(oid)}: {shown(text)}"
        ) from None


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("t", "true", "yes", "on", "1", "y"):
        return True
    if value in ("f", "false", "no", "off", "0", "n"):
        return False
    raise ValueError(f"{text!r} is not a boolean")


def _float(text: str, type_word: str) -> float:
    check_float_text(text, type_word)  # '1e999' is 22003, as Postgres's float8in says
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


def _vector_text(text: str) -> list[float]:
    """pgvector's text form, '[1,2,3]'."""
    inner = text.strip()
    if not (inner.startswith("[") and inner.endswith("]")) or not inner[1:-1].strip():
        raise ValueError("not a vector")
    return [float(x) for x in inner[1:-1].split(",")]


def _vector_binary(raw: bytes) -> list[float]:
    """pgvector's binary form: int16 dimensions, int16 unused (0), float4 values."""
    dim, unused = struct.unpack_from("!HH", raw)
    if unused != 0 or len(raw) != 4 + 4 * dim or dim == 0:
        raise ValueError("not a vector")
    return list(struct.unpack_from(f"!{dim}f", raw, 4))


_TEXT: dict[int, Callable[[str], Any]] = {
    t.BOOL: _bool,
    t.INT2: int,
    t.INT4: int,
    t.INT8: int,
    t.OID: int,
    t.FLOAT4: lambda text: _float(text, "float4"),
    t.FLOAT8: lambda text: _float(text, "float8"),
    t.NUMERIC: Decimal,
    t.BYTEA: bytea,
    t.INTERVAL: interval_input,
    t.DATE: _temporal(dt.date.fromisoformat),
    t.TIMESTAMP: _temporal(dt.datetime.fromisoformat),
    t.TIMESTAMPTZ: _temporal(dt.datetime.fromisoformat),
    t.TIME: _temporal(dt.time.fromisoformat),
    t.UUID: uuid.UUID,
    t.VECTOR: _vector_text,
}


# -- binary format ---------------------------------------------------------------------


def _binary(raw: bytes, oid: int) -> Any:
    pg = t.BY_OID.get(oid)
    if pg is not None and pg.element:
        return binary_array(raw, pg.element, _binary)
    convert = _BINARY.get(oid)
    if convert is None:
        return utf8(raw)  # text-like types, and unknown ones, are their UTF-8
    try:
        return convert(raw)
    except ElacsymError:
        raise
    except _MALFORMED:
        raise InvalidBinaryRepresentation(
            f"incorrect binary data format for type {_type_name(oid)}"
        ) from None


def _numeric(raw: bytes) -> Decimal:
    ndigits, weight, sign, dscale = struct.unpack_from("!hhHh", raw)
    if sign == 0xC000:
        return Decimal("NaN")
    if sign in (0xD000, 0xF000):
        return Decimal("Infinity") if sign == 0xD000 else Decimal("-Infinity")
    if sign not in (0, 0x4000) or dscale < 0 or len(raw) != 8 + 2 * ndigits:
        raise ValueError("invalid numeric")
    groups = struct.unpack_from(f"!{ndigits}h", raw, 8)  # base-10000 digits
    if any(not 0 <= g < 10000 for g in groups):
        raise ValueError("invalid digit in numeric")
    # Built from its digits as text: exact, whatever the number of digits (Decimal
    # arithmetic would round at the context's 28).
    digits = "".join(f"{g:04d}" for g in groups) or "0"
    exponent = (weight - ndigits + 1) * 4
    if exponent > -dscale:  # show dscale decimals: pad with zeros
        digits += "0" * (exponent + dscale)
    else:  # or drop the (zero) digits past them
        digits = digits[: len(digits) - (-dscale - exponent)] or "0"
    return Decimal(f"{'-' if sign == 0x4000 else ''}{digits}E{-dscale}")


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
    """jsonb's binary form: a version byte (1) and the text. Without the byte it is taken as
    json's (no JSON text starts with 0x01): a binary COPY of a JSONB column written here,
    where DuckDB knows only json, reads back."""
    if raw[:1] == b"\x01":
        return utf8(raw[1:])
    if raw and raw[0] < 0x09:  # another version byte: no JSON text starts so
        raise ValueError("unsupported jsonb version")
    return utf8(raw)


_BINARY: dict[int, Callable[[bytes], Any]] = {
    t.BOOL: lambda b: struct.unpack("!?", b)[0],
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
    t.VECTOR: _vector_binary,
}
