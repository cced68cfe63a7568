"""One value at a time, in Postgres's text and binary forms.

The slow path: encode.py handles the common column types column-wise and comes here only
for the rest (intervals, numerics in binary, general arrays, structs, ...).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import struct
import uuid
from decimal import Decimal
from typing import Any

import numpy as np

from ..sql.pg_catalog import pg_types as t

PG_EPOCH = dt.datetime(2000, 1, 1)
PG_EPOCH_DATE = dt.date(2000, 1, 1)
UTC = dt.UTC


# -- text --------------------------------------------------------------------------------


def text(value: Any, oid: int) -> str | None:
    """The text form Postgres prints for `value` as type `oid`."""
    if value is None:
        return None
    pg = t.BY_OID.get(oid)
    if oid == t.VECTOR:  # pgvector's text form: [1,2.5,3]
        return "[" + ",".join(_float4_text(v) for v in value) + "]"
    if isinstance(value, list | tuple) and (pg is None or pg.element or oid == t.TEXT):
        element = pg.element if pg is not None and pg.element else t.TEXT
        return array_text(value, element)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dt.datetime):
        return timestamp_text(value)
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return interval_text(0, value.days, value.seconds * 1_000_000 + value.microseconds)
    if hasattr(value, "months") and hasattr(value, "nanoseconds"):  # pyarrow MonthDayNano
        return interval_text(value.months, value.days, value.nanoseconds // 1000)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


def float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    out = repr(value)
    return out[:-2] if out.endswith(".0") else out


def _float4_text(value: float) -> str:
    """A float4 as Postgres prints it: the shortest text that reads back as that float4."""
    out = str(np.float32(value))
    return out[:-2] if out.endswith(".0") else out


def timestamp_text(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ") + "+00"
    return value.isoformat(sep=" ")


def interval_text(months: int, days: int, micros: int) -> str:
    """Postgres's default (IntervalStyle postgres) interval output: after a negative
    field, a positive one carries '+' ('-3 days +04:05:06'); units are plural but for 1."""
    years, mons = int(months / 12), months - int(months / 12) * 12  # both toward zero
    parts: list[str] = []
    before_negative = False
    for value, unit in ((years, "year"), (mons, "mon"), (days, "day")):
        if value:
            sign = "+" if before_negative and value > 0 else ""
            parts.append(f"{sign}{value} {unit}{'' if value == 1 else 's'}")
            before_negative = value < 0
    if micros or not parts:
        sign = "-" if micros < 0 else ("+" if before_negative else "")
        seconds, frac = divmod(abs(micros), 1_000_000)
        hours, rest = divmod(seconds, 3600)
        clock = f"{sign}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        if frac:
            clock += f".{frac:06d}".rstrip("0")
        parts.append(clock)
    return " ".join(parts)


def quote_array_item(item: str) -> str:
    if item == "" or item.upper() == "NULL" or any(c in item for c in '{},"\\ \t\n'):
        return '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return item


def array_text(values: Any, element: int) -> str:
    items = []
    for v in values:
        if v is None:
            items.append("NULL")
        elif isinstance(v, list | tuple):
            items.append(array_text(v, element))
        else:
            item = text(v, element)
            assert item is not None
            items.append(quote_array_item(item))
    return "{" + ",".join(items) + "}"


# -- binary ------------------------------------------------------------------------------


def binary(value: Any, oid: int) -> bytes | None:
    """The binary (send) form of `value` as type `oid`."""
    if value is None:
        return None
    pg = t.BY_OID.get(oid)
    if pg is not None and pg.element:
        return array_binary(list(value), pg.element)
    encode = _BINARY.get(oid)
    if encode is not None:
        return encode(value)
    out = text(value, oid)
    assert out is not None
    return out.encode("utf-8")


def numeric_binary(value: Decimal | int) -> bytes:
    value = Decimal(value)
    if value.is_nan():
        return struct.pack("!hhHh", 0, 0, 0xC000, 0)
    if value.is_infinite():
        return struct.pack("!hhHh", 0, 0, 0xD000 if value > 0 else 0xF000, 0)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    dscale = max(0, -exponent)
    # Align the decimal digits to groups of 4 around the decimal point.
    int_digits = "".join(map(str, digits)) or "0"
    if exponent > 0:
        int_digits += "0" * exponent
        exponent = 0
    frac_len = -exponent
    int_digits = int_digits.zfill(frac_len)  # 0.000123: the fraction's leading zeros
    whole, frac = (
        int_digits[: len(int_digits) - frac_len] or "0",
        int_digits[-frac_len:] if frac_len else "",
    )
    whole = whole.zfill((len(whole) + 3) // 4 * 4)
    frac = frac.ljust((len(frac) + 3) // 4 * 4, "0")
    groups = [int(whole[i : i + 4]) for i in range(0, len(whole), 4)]
    weight = len(groups) - 1
    groups += [int(frac[i : i + 4]) for i in range(0, len(frac), 4)]
    while groups and groups[0] == 0:  # leading zero groups lower the weight
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    head = struct.pack("!hhHh", len(groups), weight, 0x4000 if sign else 0, dscale)
    return head + struct.pack(f"!{len(groups)}h", *groups)


def _interval_binary(value: Any) -> bytes:
    if isinstance(value, dt.timedelta):
        return struct.pack("!qii", value.seconds * 1_000_000 + value.microseconds, value.days, 0)
    return struct.pack("!qii", value.nanoseconds // 1000, value.days, value.months)


def _timestamp_binary(value: dt.datetime) -> bytes:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    delta = value - PG_EPOCH
    return struct.pack("!q", (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)


def _time_binary(value: dt.time) -> bytes:
    micros = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000
    return struct.pack("!q", micros + value.microsecond)


def _str_bytes(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else str(value).encode("utf-8")


_BINARY: dict[int, Any] = {
    t.BOOL: lambda v: b"\x01" if v else b"\x00",
    t.INT2: lambda v: struct.pack("!h", v),
    t.INT4: lambda v: struct.pack("!i", v),
    t.INT8: lambda v: struct.pack("!q", v),
    t.OID: lambda v: struct.pack("!I", v),
    t.FLOAT4: lambda v: struct.pack("!f", v),
    t.FLOAT8: lambda v: struct.pack("!d", v),
    t.NUMERIC: numeric_binary,
    t.BYTEA: bytes,
    t.DATE: lambda v: struct.pack("!i", (v - PG_EPOCH_DATE).days),
    t.TIMESTAMP: _timestamp_binary,
    t.TIMESTAMPTZ: _timestamp_binary,
    t.TIME: _time_binary,
    t.INTERVAL: _interval_binary,
    t.UUID: lambda v: (v if isinstance(v, uuid.UUID) else uuid.UUID(str(v))).bytes,
    t.JSONB: lambda v: b"\x01" + _str_bytes(v),
    # pgvector's vector_send: dimensions, an unused int16, then the float4 items
    t.VECTOR: lambda v: struct.pack(f"!hh{len(v)}f", len(v), 0, *v),
}


def array_binary(values: list[Any], element: int) -> bytes:
    """A (possibly multi-dimensional) array in Postgres's binary array format."""
    dims = []
    level: Any = values
    while isinstance(level, list | tuple):
        dims.append(len(level))
        level = level[0] if level else None
    flat = _flatten(values, len(dims))
    has_null = any(v is None for v in flat)
    head = struct.pack("!iiI", len(dims), int(has_null), element)
    head += b"".join(struct.pack("!ii", d, 1) for d in dims)
    parts = [head]
    for v in flat:
        data = binary(v, element)
        parts.append(b"\xff\xff\xff\xff" if data is None else struct.pack("!i", len(data)) + data)
    return b"".join(parts)


def _flatten(values: Any, depth: int) -> list[Any]:
    if depth <= 1:
        return list(values)
    out = []
    for v in values:
        out.extend(_flatten(v, depth - 1))
    return out
