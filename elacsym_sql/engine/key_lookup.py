"""Where keys sit in a segment: its key column sorted once, then a binary search per key.

Finding a search's hits (the full-text index names keys) by hashing the whole key column of
every segment cost O(rows) per query: at 250k-row segments, most of a hybrid search's time.
A locator is built once per segment (kept in the memory cache) and answers in O(log rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class KeyLocator:
    """A segment's keys in sorted order and the row position of each."""

    sorted_keys: np.ndarray
    positions: np.ndarray

    @classmethod
    def of(cls, keys: pa.Array) -> KeyLocator:
        values = keys.to_numpy(zero_copy_only=False)
        order = np.argsort(values, kind="stable")
        return cls(values[order], order.astype(np.int64))

    @property
    def nbytes(self) -> int:  # what the memory cache charges (object keys: ~64 bytes each)
        per_key = 64 if self.sorted_keys.dtype == object else self.sorted_keys.itemsize
        return per_key * len(self.sorted_keys) + self.positions.nbytes

    def find(self, wanted: pa.Array) -> np.ndarray:
        """The row position of each wanted key, -1 where the segment does not hold it."""
        values = wanted.to_numpy(zero_copy_only=False)
        n = len(self.sorted_keys)
        if not n or not len(values):
            return np.full(len(values), -1, np.int64)
        at = np.searchsorted(self.sorted_keys, values)
        inside = at < n
        hit = np.zeros(len(values), bool)
        hit[inside] = self.sorted_keys[at[inside]] == values[inside]
        return np.where(hit, self.positions[np.minimum(at, n - 1)], -1)
