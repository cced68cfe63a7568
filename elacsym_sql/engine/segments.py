"""Segment files of every namespace, read through the disk cache and kept decoded in memory."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import uuid
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from ..catalog import SegmentEntry
from ..index import SMALL_SEGMENT_ROWS, HnswIndex, build_hnsw_file, vector_norms
from ..index.calibrate import CALIBRATION_QUERIES, calibrate, probe_queries
from ..layout import vector_index_key
from ..schema import Column, Schema
from ..segment import decode_deletes, read_keys, read_rows, segment_parquet_bytes
from ..storage import DiskCache, ObjectStore
from .memory_cache import MemoryCache

# Recent real queries a new index is calibrated with; with fewer, probe queries are used.
MIN_REAL_QUERIES = 50


class SegmentFiles:
    def __init__(self, store: ObjectStore, cache: DiskCache, memory: MemoryCache) -> None:
        self.store = store
        self.cache = cache
        self.memory = memory

    def path(self, namespace: str, seg: SegmentEntry) -> str:
        """A local file holding the segment's Parquet data."""
        return self.cache.path(self.store, seg.data_key(namespace))

    def keys(self, namespace: str, seg: SegmentEntry, key_column: str) -> pa.Array:
        return self.memory.get(
            ("keys", namespace, seg.id), lambda: read_keys(self.path(namespace, seg), key_column)
        )

    def deletes(self, namespace: str, seg: SegmentEntry) -> np.ndarray:
        if not seg.deletes_key:
            return np.empty(0, dtype="<u4")
        key = seg.deletes_key
        return self.memory.get(
            ("deletes", namespace, key),
            lambda: decode_deletes(self.cache.get_bytes(self.store, key), seg.deleted, key),
        )

    def rows(self, namespace: str, seg: SegmentEntry, schema: Schema) -> pa.Table:
        """All rows of a segment (deleted ones included), in the storage schema."""
        return self.memory.get(
            ("rows", namespace, seg.id),
            lambda: read_rows(self.path(namespace, seg), schema.arrow_schema).combine_chunks(),
        )

    def vectors(
        self, namespace: str, seg: SegmentEntry, rows: pa.Table, column: Column
    ) -> np.ndarray:
        """The (n, d) float32 matrix of a vector column (a view of `rows`)."""
        return vectors_of(as_array(rows.column(column.name)), column)

    def vector_mask(
        self, namespace: str, seg: SegmentEntry, rows: pa.Table, column: str
    ) -> np.ndarray:
        """Which rows have a vector in `column`."""
        return self.memory.get(
            ("has-vector", namespace, seg.id, column),
            lambda: rows.column(column).is_valid().to_numpy(zero_copy_only=False),
        )

    def vector_norms(
        self, namespace: str, seg: SegmentEntry, vectors: np.ndarray, column: str
    ) -> np.ndarray:
        """The norms of a column's vectors, for exact search of a segment with no index."""
        return self.memory.get(("norms", namespace, seg.id, column), lambda: vector_norms(vectors))

    def vector_index(
        self, namespace: str, seg: SegmentEntry, column: Column, metric: str
    ) -> HnswIndex | None:
        """The segment's HNSW index of `column`, or None (small segments have none)."""
        key = seg.indexes.get(f"hnsw:{column.name}")
        if key is None:
            return None
        assert column.dim is not None
        return self.memory.get(
            ("hnsw", namespace, seg.id, column.name),
            lambda: HnswIndex.load(self.cache.path(self.store, key), metric, column.dim),
        )

    # The full-text index's ObjectIO: its files go through the same store and disk cache.
    def fetch(self, key: str) -> str:
        return self.cache.path(self.store, key)

    def upload(self, key: str, path: str) -> None:
        with open(path, "rb") as f:
            self.store.put(key, f.read())

    @property
    def work_dir(self) -> str:
        """Scratch space on the disk cache's filesystem (index files are hard-linked)."""
        return self.cache.directory

    def write(
        self,
        namespace: str,
        rows: pa.Table,
        schema: Schema,
        queries: Callable[[str], np.ndarray] | None = None,
    ) -> SegmentEntry:
        """Store `rows` as a new segment with its indexes; the caller commits it.

        What is written is also kept in the disk cache (and each vector index loaded in the
        memory cache), so the first search after the commit neither downloads nor loads it.
        Each vector index is calibrated (index/calibrate.py) with `queries(column)`, recent
        real queries, when there are enough of them, else with probe queries."""
        seg_id = uuid.uuid4().hex[:16]
        rows = rows.sort_by(schema.primary_key)
        data = segment_parquet_bytes(rows)
        entry = SegmentEntry(id=seg_id, rows=rows.num_rows, bytes=len(data))
        self.store.put(entry.data_key(namespace), data)
        self._keep_local(entry.data_key(namespace), data)
        indexes, curves, index_bytes = {}, {}, 0
        if rows.num_rows >= SMALL_SEGMENT_ROWS:  # below it exact search is as fast
            for col in schema.vector_columns:
                vectors = vectors_of(as_array(rows.column(col.name)), col)
                key = vector_index_key(namespace, seg_id, col.name)
                index = self._write_index(namespace, seg_id, key, col, vectors, schema)
                real = queries(col.name) if queries is not None else np.empty((0, 0))
                probes = real if len(real) >= MIN_REAL_QUERIES else probe_queries(
                    vectors, CALIBRATION_QUERIES, seed=rows.num_rows
                )  # fmt: skip
                curves[f"hnsw:{col.name}"] = [list(p) for p in calibrate(index, vectors, probes)]
                indexes[f"hnsw:{col.name}"] = key
                index_bytes += index.nbytes
        return dataclasses.replace(
            entry, indexes=indexes, index_bytes=index_bytes, ef_recall=curves
        )

    def _write_index(
        self, namespace: str, seg_id: str, key: str, col: Column, vectors: np.ndarray,
        schema: Schema,
    ) -> HnswIndex:  # fmt: skip
        """Build, upload and cache the HNSW index of one column; returns it loaded."""
        metric = schema.options.metric
        fd, tmp = tempfile.mkstemp(suffix=".hnsw", dir=self.work_dir)
        os.close(fd)
        try:
            build_hnsw_file(vectors, metric, tmp)
            with open(tmp, "rb") as f:
                self.store.put(key, f.read())
            path = self.cache.adopt(self.store, key, tmp)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        assert col.dim is not None
        return self.memory.get(
            ("hnsw", namespace, seg_id, col.name), lambda: HnswIndex.load(path, metric, col.dim)
        )

    def _keep_local(self, key: str, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.work_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            self.cache.adopt(self.store, key, tmp)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def vectors_of(arr: pa.FixedSizeListArray, column: Column) -> np.ndarray:
    """An (n, d) float32 view of a vector column (NULL rows hold zeros)."""
    dim = column.dim
    assert dim is not None
    values = arr.values.slice(arr.offset * dim, len(arr) * dim)
    return values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, dim)


def as_array(column: pa.ChunkedArray) -> pa.Array:
    """One array for a column; no copy when it has one chunk (combine_chunks always copies)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
