"""Postgres v3 wire protocol: backend messages, built as bytes directly.

Rows are the hot path and are encoded column-wise elsewhere (encode.py); frontend
messages are read in frontend.py.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_U32 = struct.Struct("!I")


# -- backend messages ------------------------------------------------------------------


def message(kind: bytes, body: bytes = b"") -> bytes:
    return kind + _I32.pack(len(body) + 4) + body


def cstr(text: str) -> bytes:
    return text.encode("utf-8") + b"\x00"


AUTH_OK = message(b"R", _I32.pack(0))
PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
PORTAL_SUSPENDED = message(b"s")
EMPTY_QUERY = message(b"I")


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return message(b"K", _I32.pack(pid) + _I32.pack(secret))


def ready_for_query(status: str) -> bytes:
    return message(b"Z", status.encode("ascii"))


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def parameter_description(oids: Sequence[int]) -> bytes:
    return message(b"t", _I16.pack(len(oids)) + b"".join(_U32.pack(o) for o in oids))


@dataclass(frozen=True)
class Field:
    """One column of a RowDescription."""

    name: str
    type_oid: int
    type_size: int
    type_modifier: int = -1


def row_description(fields: Sequence[Field], formats: Sequence[int]) -> bytes:
    parts = [_I16.pack(len(fields))]
    for f, fmt in zip(fields, formats, strict=True):
        parts.append(cstr(f.name))
        # table oid, column number, type oid, type size, type modifier, format
        parts.append(struct.pack("!IhIhih", 0, 0, f.type_oid, f.type_size, f.type_modifier, fmt))
    return message(b"T", b"".join(parts))


def notice_or_error(kind: bytes, fields: Iterable[tuple[bytes, str]]) -> bytes:
    body = b"".join(code + cstr(value) for code, value in fields if value is not None)
    return message(kind, body + b"\x00")
