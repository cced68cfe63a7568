"""Postgres v3 wire protocol: reading frontend messages and building backend ones.

Framing is a type byte plus a length; that is all, so it lives here rather than in a
dependency (see docs/decisions/0010-wire-server.md). Backend messages are built as bytes
directly: rows are the hot path and are encoded column-wise elsewhere (encode.py).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PROTOCOL_V3 = 196608  # 3.0
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
MAX_MESSAGE = 1 << 30  # what Postgres accepts for one message

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_U32 = struct.Struct("!I")


class ProtocolViolation(Exception):
    """The client sent something the protocol does not allow (SQLSTATE 08P01)."""


@dataclass(frozen=True)
class Message:
    kind: bytes  # one byte: b"Q", b"P", ...
    body: bytes


async def read_startup(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The first packet: (request code, rest of the body); startup packets have no type byte."""
    (length,) = _I32.unpack(await reader.readexactly(4))
    if not 8 <= length <= 10_000:
        raise ProtocolViolation(f"invalid startup packet length {length}")
    body = await reader.readexactly(length - 4)
    (code,) = _I32.unpack_from(body)
    return code, body[4:]


async def read_message(reader: asyncio.StreamReader) -> Message:
    head = await reader.readexactly(5)
    (length,) = _I32.unpack_from(head, 1)
    if not 4 <= length <= MAX_MESSAGE:
        raise ProtocolViolation(f"invalid message length {length}")
    return Message(head[:1], await reader.readexactly(length - 4))


def startup_parameters(body: bytes) -> dict[str, str]:
    """Key/value pairs of a StartupMessage (after the protocol version)."""
    parts = body.split(b"\x00")
    params = {}
    for i in range(0, len(parts) - 1, 2):
        if not parts[i]:
            break
        params[parts[i].decode("utf-8", "replace")] = parts[i + 1].decode("utf-8", "replace")
    return params


class Reader:
    """Sequential reads from one message body."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._pos = 0

    def cstring(self) -> str:
        end = self._body.find(b"\x00", self._pos)
        if end < 0:
            raise ProtocolViolation("unterminated string in message")
        text = self._body[self._pos : end].decode("utf-8")
        self._pos = end + 1
        return text

    def int16(self) -> int:
        (value,) = _I16.unpack_from(self._body, self._pos)
        self._pos += 2
        return int(value)

    def int32(self) -> int:
        (value,) = _I32.unpack_from(self._body, self._pos)
        self._pos += 4
        return int(value)

    def uint32(self) -> int:
        (value,) = _U32.unpack_from(self._body, self._pos)
        self._pos += 4
        return int(value)

    def byte(self) -> bytes:
        value = self._body[self._pos : self._pos + 1]
        self._pos += 1
        return value

    def raw(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._body):
            raise ProtocolViolation("message shorter than its contents say")
        value = self._body[self._pos : self._pos + n]
        self._pos += n
        return value


# -- frontend messages of the extended protocol -----------------------------------------


@dataclass(frozen=True)
class Parse:
    name: str
    query: str
    param_oids: list[int]


@dataclass(frozen=True)
class Bind:
    portal: str
    statement: str
    param_formats: list[int]
    values: list[bytes | None]  # None is SQL NULL (length -1)
    result_formats: list[int]


def parse_parse(body: bytes) -> Parse:
    r = Reader(body)
    name, query = r.cstring(), r.cstring()
    return Parse(name, query, [r.uint32() for _ in range(r.int16())])


def parse_bind(body: bytes) -> Bind:
    r = Reader(body)
    portal, statement = r.cstring(), r.cstring()
    formats = [r.int16() for _ in range(r.int16())]
    values: list[bytes | None] = []
    for _ in range(r.int16()):
        n = r.int32()
        values.append(None if n == -1 else r.raw(n))
    results = [r.int16() for _ in range(r.int16())]
    return Bind(portal, statement, formats, values, results)


def per_column(formats: Sequence[int], n: int) -> list[int]:
    """Format codes as the protocol gives them (none, one for all, or one each) per column."""
    if not formats:
        return [0] * n
    if len(formats) == 1:
        return [formats[0]] * n
    if len(formats) != n:
        raise ProtocolViolation(f"{len(formats)} format codes for {n} columns or parameters")
    return list(formats)


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
