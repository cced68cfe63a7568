"""Segment files of every namespace, read through the disk cache; keys and deletes memoised."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict

import numpy as np
import pyarrow as pa

from ..catalog import SegmentEntry
from ..schema import Schema
from ..segment import decode_deletes, read_keys, segment_parquet_bytes
from ..storage import DiskCache, ObjectStore

_MEMO_ENTRIES = 256


class SegmentFiles:
    def __init__(self, store: ObjectStore, cache: DiskCache) -> None:
        self.store = store
        self.cache = cache
        self._memo: OrderedDict[tuple[str, str, str], object] = OrderedDict()
        self._lock = threading.Lock()

    def path(self, namespace: str, seg: SegmentEntry) -> str:
        """A local file holding the segment's Parquet data."""
        return self.cache.path(self.store, seg.data_key(namespace))

    def keys(self, namespace: str, seg: SegmentEntry, key_column: str) -> pa.Array:
        return self._memoised(
            ("keys", namespace, seg.id), lambda: read_keys(self.path(namespace, seg), key_column)
        )

    def deletes(self, namespace: str, seg: SegmentEntry) -> np.ndarray:
        if not seg.deletes_key:
            return np.empty(0, dtype="<u4")
        key = seg.deletes_key
        return self._memoised(
            ("deletes", namespace, key),
            lambda: decode_deletes(self.cache.get_bytes(self.store, key), seg.deleted, key),
        )

    def write(self, namespace: str, rows: pa.Table, schema: Schema) -> SegmentEntry:
        """Store `rows` as a new segment; the caller commits it in a manifest."""
        seg_id = uuid.uuid4().hex[:16]
        data = segment_parquet_bytes(rows, schema.primary_key)
        entry = SegmentEntry(id=seg_id, rows=rows.num_rows, bytes=len(data))
        self.store.put(entry.data_key(namespace), data)
        # Index files for search are built here, beside the data (vector/text issue).
        return entry

    def _memoised(self, key: tuple[str, str, str], load):  # type: ignore[no-untyped-def]
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = load()
        with self._lock:
            self._memo[key] = value
            while len(self._memo) > _MEMO_ENTRIES:
                self._memo.popitem(last=False)
        return value
