"""Postgres v3 wire protocol: reading and decoding frontend messages, within limits.

Framing is a type byte plus a length; that is all, so it lives here rather than in a
dependency (see docs/decisions/0010-wire-server.md and 0019-wire-protocol-limits.md).
A message that cannot be framed ends the connection (FrameError, FATAL); one that frames
but does not decode is an ordinary error (08P01, 22021, 22023) and the session goes on,
as in Postgres.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import (
    CharacterNotInRepertoire,
    FrameError,
    InvalidParameterValue,
    ProtocolViolation,
    SyntaxError,
)

PROTOCOL_V3 = 196608  # 3.0
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102

# Size limits, checked on the length word before a body is read. Before authentication a
# client may send only small messages (Postgres bounds startup packets at 10,000 bytes);
# messages that carry no more than a name are small at any time, as in Postgres.
PRE_AUTH_MESSAGE = 10_000
SMALL_MESSAGE = 10_000
DEFAULT_MAX_MESSAGE = 256 << 20
_PIECE = 1 << 20  # a body over this is read in pieces of at most this size

# Frontend message types after start-up (password messages come only during it).
FRONTEND = frozenset(bytes([c]) for c in b"BCDEFHPQSXcdf")
AUTHENTICATION = frozenset({b"p"})
_SMALL = frozenset(bytes([c]) for c in b"CDEHSXcf")

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_U32 = struct.Struct("!I")
_SHORT = "insufficient data left in message"


@dataclass(frozen=True)
class Message:
    kind: bytes  # one byte: b"Q", b"P", ...
    body: bytes


async def read_startup(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The first packet: (request code, rest of the body); startup packets have no type byte."""
    (length,) = _I32.unpack(await reader.readexactly(4))
    if not 8 <= length <= PRE_AUTH_MESSAGE:
        raise FrameError("08P01", "invalid length of startup packet")
    body = await reader.readexactly(length - 4)
    (code,) = _I32.unpack_from(body)
    return code, body[4:]


async def read_message(
    reader: asyncio.StreamReader, max_size: int, kinds: frozenset[bytes] = FRONTEND
) -> Message:
    """The next message of one of `kinds`, of at most `max_size` bytes. Type and length are
    checked before the body is read, so an oversized message costs nothing."""
    head = await reader.readexactly(5)
    kind = head[:1]
    if kind not in kinds:
        raise FrameError("08P01", f"invalid frontend message type {head[0]}")
    (length,) = _I32.unpack_from(head, 1)
    limit = min(max_size, SMALL_MESSAGE) if kind in _SMALL else max_size
    if length < 4:
        raise FrameError("08P01", "invalid message length")
    if length > limit:
        message = f"message of {length} bytes is over the limit of {limit}"
        raise FrameError("54000", message, unread=length - 4)
    return Message(kind, await _read_body(reader, length - 4))


async def _read_body(reader: asyncio.StreamReader, n: int) -> bytes:
    """`n` bytes; a large body in pieces: readexactly would grow the reader's buffer to the
    whole body and keep that memory after the message is gone."""
    if n <= _PIECE:
        return await reader.readexactly(n)
    pieces = []
    while n > 0:
        piece = await reader.read(min(n, _PIECE))
        if not piece:
            raise asyncio.IncompleteReadError(b"".join(pieces), n)
        pieces.append(piece)
        n -= len(piece)
    return b"".join(pieces)


def startup_parameters(body: bytes) -> dict[str, str]:
    """Key/value pairs of a StartupMessage (after the protocol version)."""
    parts = body.split(b"\x00")
    params = {}
    for i in range(0, len(parts) - 1, 2):
        if not parts[i]:
            break
        params[parts[i].decode("utf-8", "replace")] = parts[i + 1].decode("utf-8", "replace")
    return params


def startup_options(text: str) -> dict[str, str]:
    """Settings in a startup packet's `options` (libpq's PGOPTIONS): `-c name=value`,
    `-cname=value` or `--name=value`, separated by spaces; a backslash keeps the next
    character (a space in a value)."""
    words, word, escaped = [], "", False
    for ch in text:
        if escaped:
            word, escaped = word + ch, False
        elif ch == "\\":
            escaped = True
        elif ch.isspace():
            if word:
                words.append(word)
            word = ""
        else:
            word += ch
    if word:
        words.append(word)
    found: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if word == "-c" and i + 1 < len(words):
            i += 1
            word = words[i]
        elif word.startswith("-c") or word.startswith("--"):
            word = word[2:]
        else:
            raise SyntaxError(f"invalid command-line argument for server process: {word}")
        name, sep, value = word.partition("=")
        if not sep:
            raise SyntaxError(f"-c {name} requires a value")
        found[name.replace("-", "_")] = value
        i += 1
    return found


def utf8(data: bytes) -> str:
    """Client text as str; invalid UTF-8 is Postgres's 22021, naming the bad bytes."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = " ".join(f"0x{b:02x}" for b in data[exc.start : exc.end])
        message = f'invalid byte sequence for encoding "UTF8": {bad}'
        raise CharacterNotInRepertoire(message) from None


class Reader:
    """Sequential reads from one message body; a short or malformed body is 08P01."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._pos = 0

    def cstring(self) -> str:
        end = self._body.find(b"\x00", self._pos)
        if end < 0:
            raise ProtocolViolation("invalid string in message")
        text = utf8(self._body[self._pos : end])
        self._pos = end + 1
        return text

    def _unpack(self, fmt: struct.Struct) -> int:
        if self._pos + fmt.size > len(self._body):
            raise ProtocolViolation(_SHORT)
        (value,) = fmt.unpack_from(self._body, self._pos)
        self._pos += fmt.size
        return int(value)

    def int16(self) -> int:
        return self._unpack(_I16)

    def int32(self) -> int:
        return self._unpack(_I32)

    def uint32(self) -> int:
        return self._unpack(_U32)

    def count(self) -> int:
        """An int16 count of what follows; a negative one cannot be."""
        n = self.int16()
        if n < 0:
            raise ProtocolViolation(_SHORT)
        return n

    def byte(self) -> bytes:
        return self.raw(1)

    def raw(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._body):
            raise ProtocolViolation(_SHORT)
        value = self._body[self._pos : self._pos + n]
        self._pos += n
        return value

    def end(self) -> None:
        """The body must hold nothing more."""
        if self._pos != len(self._body):
            raise ProtocolViolation("invalid message format")


# -- frontend messages -------------------------------------------------------------------


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


def parse_query(body: bytes) -> str:
    r = Reader(body)
    sql = r.cstring()
    r.end()
    return sql


def parse_parse(body: bytes) -> Parse:
    r = Reader(body)
    name, query = r.cstring(), r.cstring()
    oids = [r.uint32() for _ in range(r.count())]
    r.end()
    return Parse(name, query, oids)


def parse_bind(body: bytes) -> Bind:
    r = Reader(body)
    portal, statement = r.cstring(), r.cstring()
    formats = _formats(r)
    values: list[bytes | None] = []
    for _ in range(r.count()):
        n = r.int32()
        values.append(None if n == -1 else r.raw(n))
    results = _formats(r)
    r.end()
    return Bind(portal, statement, formats, values, results)


def _formats(r: Reader) -> list[int]:
    formats = [r.int16() for _ in range(r.count())]
    for code in formats:
        if code not in (0, 1):
            raise InvalidParameterValue(f"unsupported format code: {code}")
    return formats


def parse_target(body: bytes, message: str) -> tuple[bytes, str]:
    """Describe's or Close's (b"S" statement or b"P" portal, name)."""
    r = Reader(body)
    which = r.byte()
    if which not in (b"S", b"P"):
        raise ProtocolViolation(f"invalid {message} message subtype {which[0]}")
    name = r.cstring()
    r.end()
    return which, name


def parse_execute(body: bytes) -> tuple[str, int]:
    """(portal, row limit)."""
    r = Reader(body)
    portal, limit = r.cstring(), r.int32()
    r.end()
    return portal, limit


def per_column(formats: Sequence[int], n: int) -> list[int]:
    """Format codes as the protocol gives them (none, one for all, or one each) per column."""
    if not formats:
        return [0] * n
    if len(formats) == 1:
        return [formats[0]] * n
    if len(formats) != n:
        raise ProtocolViolation(f"{len(formats)} format codes for {n} columns or parameters")
    return list(formats)
