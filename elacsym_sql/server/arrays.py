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
    ProgramLimitExceeded,
    ProtocolViolation,
)
from ..sql.dialect.pg_text import text_array
from ..sql.pg_catalog import pg_types as t

__all__ = ["binary_array", "text_array"]

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
