"""Delete files: the sorted row positions of a segment that are no longer live."""

from __future__ import annotations

import numpy as np

from ..errors import CorruptObject


def encode_deletes(positions: np.ndarray) -> bytes:
    return np.unique(positions.astype("<u4")).tobytes()


def decode_deletes(data: bytes, expected: int, where: str) -> np.ndarray:
    if len(data) != 4 * expected:
        raise CorruptObject(f"delete file {where} holds {len(data)} bytes, expected {4 * expected}")
    return np.frombuffer(data, dtype="<u4")
