"""Array parameters (vectors among them) in Postgres's text and binary forms.

Every size a client declares is checked against the bytes that carry it before anything
is allocated or looped over: an array claiming 2^31-1 elements in 24 bytes is refused at
once. Limits and SQLSTATEs are Postgres's (array_recv, array_in).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import (
    DatatypeMismatch,
    InvalidBinaryRepresentation,
    InvalidTextRepresentation,
    ProgramLimitExceeded,
    ProtocolViolation,
)
from ..sql import pg_types as t
from .frontend import shown

MAX_DIMENSIONS = 6  # Postgres's MAXDIM
MAX_ELEMENTS = 134_217_727  # Postgres's MaxArraySize
_HEAD = struct.Struct("!iiI")  # dimensions, flags, element type
_DIM = struct.Struct("!ii")  # size, lower bound
_LENGTH = struct.Struct("!i")
_SHORT = "insufficient data left in message"
_TOO_MANY = f"array size exceeds the maximum allowed ({MAX_ELEMENTS})"

# Fixed-size element types a flat binary array of can be read in one numpy call.
_FIXED = {t.INT2: ">i2", t.INT4: ">i4", t.INT8: ">i8", t.FLOAT4: ">f4", t.FLOAT8: ">f8"}

Decode = Callable[[bytes, int], Any]  # (an element's bytes or text, its type OID)


def binary_array(raw: bytes, element: int, decode: Decode) -> list[Any]:
    """A binary array whose elements are of type `element` (0: any), each read by `decode`."""
    if len(raw) < _HEAD.size:
        raise ProtocolViolation(_SHORT)
    ndim, flags, found = _HEAD.unpack_from(raw)
    if ndim < 0:
        raise InvalidBinaryRepresentation(f"invalid number of dimensions: {ndim}")
    if ndim > MAX_DIMENSIONS:
        raise ProgramLimitExceeded(
            f"number of array dimensions ({ndim}) exceeds the maximum allowed ({MAX_DIMENSIONS})"
        )
    if flags not in (0, 1):
        raise InvalidBinaryRepresentation("invalid array flags")
    if element and found != element:
        raise DatatypeMismatch(
            f"binary data has array element type {_named(found)} instead of expected "
            f"{_named(element)}"
        )
    start = _HEAD.size + _DIM.size * ndim
    if len(raw) < start:
        raise ProtocolViolation(_SHORT)
    dims = [_DIM.unpack_from(raw, _HEAD.size + _DIM.size * i)[0] for i in range(ndim)]
    total = _element_count(dims)
    if total * _LENGTH.size > len(raw) - start:  # each element has at least its length word
        raise ProtocolViolation(_SHORT)
    flat = _fixed_elements(raw, start, total, found) if ndim == 1 else None
    if flat is None:
        flat = _elements(raw, start, total, found, decode)
    for d in reversed(dims[1:]):  # regroup the flat elements into nested lists
        flat = [flat[i : i + d] for i in range(0, len(flat), d)]
    return flat


def _named(oid: int) -> str:
    return f"{oid} ({t.BY_OID[oid].name})" if oid in t.BY_OID else str(oid)


def _element_count(dims: list[int]) -> int:
    total = 1 if dims else 0
    for d in dims:
        if d < 0:
            raise ProgramLimitExceeded(_TOO_MANY)
        total *= d
        if total > MAX_ELEMENTS:
            raise ProgramLimitExceeded(_TOO_MANY)
    return total


def _fixed_elements(raw: bytes, start: int, count: int, element: int) -> list[Any] | None:
    """A vector of fixed-size numbers read in one numpy call, or None when the array is not
    exactly that (NULLs, other types): the general loop reads it then."""
    dtype = _FIXED.get(element)
    if dtype is None:
        return None
    size = int(dtype[-1])
    if len(raw) != start + count * (_LENGTH.size + size):
        return None
    items = np.frombuffer(raw, np.dtype([("n", ">i4"), ("v", dtype)]), count, start)
    if not (items["n"] == size).all():
        return None
    return list(items["v"].tolist())


def _elements(raw: bytes, pos: int, count: int, element: int, decode: Decode) -> list[Any]:
    flat: list[Any] = []
    for _ in range(count):
        if pos + _LENGTH.size > len(raw):
            raise ProtocolViolation(_SHORT)
        (n,) = _LENGTH.unpack_from(raw, pos)
        pos += _LENGTH.size
        if n == -1:
            flat.append(None)
            continue
        if n < -1 or n > len(raw) - pos:
            raise InvalidBinaryRepresentation(_SHORT)
        flat.append(decode(raw[pos : pos + n], element))
        pos += n
    if pos != len(raw):
        raise InvalidBinaryRepresentation("incorrect binary data format in array parameter")
    return flat


# -- text form ---------------------------------------------------------------------------

# Element types whose text never needs quotes: a flat array of them splits on commas.
_PLAIN_NUMBERS = {t.INT2: int, t.INT4: int, t.INT8: int, t.OID: int, t.FLOAT4: float,
                  t.FLOAT8: float}  # fmt: skip


def text_array(text: str, element: int, decode: Callable[[str, int], Any]) -> list[Any]:
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
