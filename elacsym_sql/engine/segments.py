"""Segment files of every namespace, read through the disk cache and kept decoded in memory."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
import mmap
import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa

from ..catalog import SegmentEntry
from ..index import HnswIndex, build_hnsw_file, vector_norms
from ..index.calibrate import (
    CALIBRATION_QUERIES,
    Curve,
    calibrate,
    calibrate_breadth,
    probe_queries,
)
from ..index.clustered import ClusteredIndex, ReadRanges, cluster, encode_clustered, nprobe_ladder
from ..layout import clustered_index_key, vector_index_key
from ..schema import Column, Schema
from ..segment import decode_deletes, read_keys, read_rows, segment_parquet_bytes
from ..segment.files import ROW_GROUP_ROWS
from ..segment.ranged import Footer, fetch_chunks, footer, read_row_groups, rows_at
from ..storage import DiskCache, ObjectStore
from .index_plan import index_kind
from .key_lookup import KeyLocator
from .memory_cache import MemoryCache
from .round_trips import io_pool, sending, started

log = logging.getLogger(__name__)

# Rows per Parquet row group under a clustered index: a search's rows come from a few
# clusters, stored together, so it reads a few small row groups.
CLUSTERED_ROW_GROUP_ROWS = 4_096
# Recent real queries a new index is calibrated with; with fewer, probe queries are used.
MIN_REAL_QUERIES = 50
# A clustered segment searched this often without local copies of its files gets them
# downloaded into the disk cache in the background, when they take at most a quarter of it:
# a cold query still reads only ranges, while a segment in use stops sending a few hundred
# ranged reads a search. Larger ones would evict everything else; they stay remote.
SEARCHES_BEFORE_DOWNLOAD = 2
_DOWNLOAD_SHARE = 4


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

    def key_locator(self, namespace: str, seg: SegmentEntry, key_column: str) -> KeyLocator:
        """Where each key of the segment sits (built from its keys once, then kept)."""
        return self.memory.get(
            ("key-locator", namespace, seg.id),
            lambda: KeyLocator.of(self.keys(namespace, seg, key_column)),
        )

    def is_clustered(self, seg: SegmentEntry) -> bool:
        """Whether the segment is searched without loading it (a clustered vector index):
        its rows are then read by range, never whole."""
        return any(name.startswith("ivf:") for name in seg.indexes)

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

    def clustered_index(
        self, namespace: str, seg: SegmentEntry, column: Column, key: str | None = None
    ) -> ClusteredIndex | None:
        """The segment's clustered index of `column` (its head; the rest is read by range),
        or None when it has none. The segment's Parquet footer is read at the same time
        (the rows a search returns are read by range through it)."""
        key = key or seg.indexes.get(f"ivf:{column.name}")
        if key is None:
            return None
        dim = column.dim or 0

        def load() -> ClusteredIndex:
            tail = started(lambda sent: self._footer(namespace, seg, sent))
            index = ClusteredIndex.open(self.reader(key), seg.rows, dim, key, self._mapped(key))
            tail.result()
            return index

        return self.memory.get(("ivf", namespace, seg.id, column.name), load)

    def searched_remotely(
        self, namespace: str, seg: SegmentEntry, column: Column, index: ClusteredIndex
    ) -> None:
        """Note a search of `index`, a clustered index with no local copy; see
        SEARCHES_BEFORE_DOWNLOAD. The count lives in the memory cache (bounded with it)."""
        counter = self.memory.get(
            ("remote-searches", namespace, seg.id, column.name), itertools.count
        )
        searches = next(counter) + 1  # atomic: one search sees each number
        index_key = seg.indexes[f"ivf:{column.name}"]
        if searches > SEARCHES_BEFORE_DOWNLOAD:  # copied meanwhile for an evicted twin?
            index.map_file(self._mapped(index_key))
        too_large = seg.bytes + seg.index_bytes > self.cache.max_bytes // _DOWNLOAD_SHARE
        if searches != SEARCHES_BEFORE_DOWNLOAD or too_large:
            return
        keys = (seg.data_key(namespace), index_key)

        def download() -> None:
            try:
                for key in keys:
                    self.cache.path(self.store, key)
            except Exception:  # a background copy: the next search reads by range again
                log.warning("could not cache %s locally", index_key, exc_info=True)
                return
            index.map_file(self._mapped(index_key))

        threading.Thread(target=download, name="elacsym-keep-local", daemon=True).start()

    def _mapped(self, key: str) -> mmap.mmap | None:
        """The disk cache's copy of `key` mapped read-only, or None when it has none. The
        mapping outlives an eviction of the copy (the file's bytes stay until it closes);
        random access: no read-ahead around each page a search touches."""
        path = self.cache.cached(self.store, key)
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (FileNotFoundError, ValueError):  # evicted meanwhile; or empty
            return None
        mapped.madvise(mmap.MADV_RANDOM)
        return mapped

    def reader(self, key: str) -> ReadRanges:
        """Ranged reads of the object `key`, each call one round trip: from the disk
        cache's copy when it has one, else from the store, all ranges at once."""

        def read(ranges: Sequence[tuple[int, int]]) -> list[bytes]:
            path = self.cache.cached(self.store, key)
            if path is not None:
                with contextlib.suppress(FileNotFoundError), open(path, "rb") as f:
                    return [os.pread(f.fileno(), n, start) for start, n in ranges]
            if len(ranges) == 1:
                return [self.store.get_range(key, *ranges[0])]
            return list(io_pool().map(lambda r: self.store.get_range(key, *r), ranges))

        return read

    def _footer(
        self, namespace: str, seg: SegmentEntry, sent: Callable[[], None] | None = None
    ) -> Footer:
        """The segment's Parquet footer, parsed (kept in memory). `sent`: called as its
        read goes out (see `started`)."""
        read = sending(self.reader(seg.data_key(namespace)), sent)
        key = ("footer", namespace, seg.id)
        return self.memory.get(key, lambda: Footer(seg.bytes, footer(read, seg.bytes)))

    def missing_row_groups(
        self, namespace: str, seg: SegmentEntry, positions: np.ndarray, columns: list[str]
    ) -> list[int]:
        """The row groups holding `positions` whose `columns` are not in the memory cache."""
        groups = np.unique(self._footer(namespace, seg).groups_of(positions)).tolist()
        key = ("row-group", namespace, seg.id, tuple(columns))
        return [g for g in groups if self.memory.peek((*key, g)) is None]

    def row_chunks(
        self, namespace: str, seg: SegmentEntry, groups: list[int], columns: list[str],
        sent: Callable[[], None] | None = None,
    ) -> dict[int, bytes]:  # fmt: skip
        """The Parquet chunks of `columns` in row `groups`, in one round trip (read ahead
        of `rows_at`). `sent`: called as the round trip goes out (see `started`)."""
        ranges = self._footer(namespace, seg).chunk_ranges(groups, columns)
        return fetch_chunks(sending(self.reader(seg.data_key(namespace)), sent), ranges)

    def rows_at(
        self,
        namespace: str,
        seg: SegmentEntry,
        positions: np.ndarray,
        columns: list[str],
        fetched: dict[int, bytes] | None = None,
    ) -> pa.Table:
        """Some rows of a segment, from their row groups: decoded ones are kept in the
        memory cache, the others read by range (those not `fetched` by `row_chunks`)."""
        foot = self._footer(namespace, seg)
        key = ("row-group", namespace, seg.id, tuple(columns))
        groups = np.unique(foot.groups_of(positions)).tolist()
        tables = {g: self.memory.peek((*key, g)) for g in groups}
        missing = [g for g, table in tables.items() if table is None]
        if missing:
            read = self.reader(seg.data_key(namespace))
            for g, table in read_row_groups(read, foot, missing, columns, fetched).items():
                self.memory.put((*key, g), table)
                tables[g] = table
        return rows_at(foot, tables, positions)

    def clustered_rows(
        self, namespace: str, seg: SegmentEntry, schema: Schema, positions: np.ndarray
    ) -> pa.Table:
        """Whole rows of a clustered segment (storage types). The vectors of the column the
        rows are ordered by come from its index, which holds them in the same order: decoding
        them from a row group (6 MB for 4,096 x 384) costs ten times the other columns."""
        storage = schema.arrow_schema
        first = _ordering_column(schema, seg)
        others = [name for name in storage.names if name != first.name]
        rows = self.rows_at(namespace, seg, positions, others)
        index = self.clustered_index(namespace, seg, first)
        assert index is not None
        has = positions < index.entries  # rows without a vector are stored last
        vectors = np.zeros((len(positions), index.dim), np.float32)
        vectors[has] = index.vectors_at(positions[has])
        return with_vectors(rows, storage, first, vectors, has)

    def indexed_vectors(
        self, namespace: str, seg: SegmentEntry, schema: Schema, column: Column
    ) -> tuple[HnswIndex | ClusteredIndex, np.ndarray] | None:
        """The segment's index of `column` and the column's vectors by row position (zeros
        for rows without one); None when it has no index, or a clustered one that does not
        order the rows (its vectors would take a read of the whole column)."""
        if f"hnsw:{column.name}" in seg.indexes:
            index = self.vector_index(namespace, seg, column, schema.options.metric)
            assert index is not None
            return index, self.vectors(namespace, seg, self.rows(namespace, seg, schema), column)
        ivf = self.clustered_index(namespace, seg, column)
        if ivf is None or _ordering_column(schema, seg) != column:
            return None
        vectors = np.zeros((seg.rows, ivf.dim), np.float32)
        vectors[: ivf.entries] = ivf.vectors_at(np.arange(ivf.entries))
        return ivf, vectors

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

        What is written is also kept in the disk cache (and its rows and each HNSW index
        in the memory cache), so the first search after the commit neither downloads nor
        loads it.
        Each vector index is calibrated (index/calibrate.py) with `queries(column)`, recent
        real queries, when there are enough of them, else with probe queries. The planner
        (index_plan.py) picks each column's index kind; under a clustered index the rows
        are stored in its cluster order, in small row groups, so a search reads few."""
        seg_id = uuid.uuid4().hex[:16]
        rows = rows.sort_by(schema.primary_key)
        metric = schema.options.metric
        kinds = {
            c.name: index_kind(
                rows.num_rows, c.dim or 0, schema.options.vector_index, self.memory.max_bytes
            )
            for c in schema.vector_columns
        }
        first = next((c for c in schema.vector_columns if kinds[c.name] == "clustered"), None)
        clusterings = {}
        if first is not None:
            rows, clusterings[first.name] = _cluster_order(rows, first, metric)
        data = segment_parquet_bytes(
            rows, CLUSTERED_ROW_GROUP_ROWS if first is not None else ROW_GROUP_ROWS
        )
        entry = SegmentEntry(id=seg_id, rows=rows.num_rows, bytes=len(data))
        self.store.put(entry.data_key(namespace), data)
        self._keep_local(entry.data_key(namespace), data)
        if first is None:  # rows() as a read of the file gives them (0.2 s at 133k x 384)
            stored = rows.select(schema.arrow_schema.names).cast(schema.arrow_schema)
            self.memory.put(("rows", namespace, seg_id), stored.combine_chunks())
        indexes, curves, index_bytes = {}, {}, 0
        for col in schema.vector_columns:
            if kinds[col.name] == "exact":  # below SMALL_SEGMENT_ROWS exact search is as fast
                continue
            arr = as_array(rows.column(col.name))
            vectors = vectors_of(arr, col)
            real = queries(col.name) if queries is not None else np.empty((0, 0))
            probes = real if len(real) >= MIN_REAL_QUERIES else probe_queries(
                vectors, CALIBRATION_QUERIES, seed=rows.num_rows
            )  # fmt: skip
            if kinds[col.name] == "clustered":
                name, key = f"ivf:{col.name}", clustered_index_key(namespace, seg_id, col.name)
                valid = np.flatnonzero(arr.is_valid().to_numpy(zero_copy_only=False))
                clustering = clusterings.get(col.name) or cluster(vectors[valid], metric)
                blob = encode_clustered(vectors[valid], valid, rows.num_rows, clustering, metric)
                self.store.put(key, blob)
                self._keep_local(key, blob)
                ivf = self.clustered_index(namespace, entry, col, key)
                assert ivf is not None
                curve = index_curve(ivf, vectors, probes)
                index_bytes += len(blob)
            else:
                name, key = f"hnsw:{col.name}", vector_index_key(namespace, seg_id, col.name)
                index = self._write_index(namespace, seg_id, key, col, vectors, schema)
                curve = index_curve(index, vectors, probes)
                index_bytes += index.nbytes
            curves[name] = [list(p) for p in curve]
            indexes[name] = key
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


def _ordering_column(schema: Schema, seg: SegmentEntry) -> Column:
    """The vector column in whose cluster order a clustered segment's rows are stored (the
    first with a clustered index: write() orders them by it)."""
    return next(c for c in schema.vector_columns if f"ivf:{c.name}" in seg.indexes)


def _cluster_order(
    rows: pa.Table, column: Column, metric: str
) -> tuple[pa.Table, tuple[np.ndarray, np.ndarray]]:
    """`rows` in the cluster order of `column` (rows without a vector last), and the
    clustering of the vectors in that order."""
    arr = as_array(rows.column(column.name))
    valid = np.flatnonzero(arr.is_valid().to_numpy(zero_copy_only=False))
    centroids, labels = cluster(vectors_of(arr, column)[valid], metric)
    by_cluster = np.argsort(labels, kind="stable")
    missing = np.setdiff1d(np.arange(rows.num_rows), valid)
    order = np.concatenate([valid[by_cluster], missing])
    return rows.take(pa.array(order)), (centroids, labels[by_cluster])


def index_curve(
    index: HnswIndex | ClusteredIndex, vectors: np.ndarray, queries: np.ndarray
) -> Curve:
    """Recall@10 of `index` over `vectors` (by row position) at each breadth of its ladder
    (HNSW ef, clustered: clusters probed), measured with `queries`."""
    if isinstance(index, HnswIndex):
        return calibrate(index, vectors, queries)
    return calibrate_breadth(
        lambda q, k, b: index.search(q, k, nprobe=b)[0],
        nprobe_ladder(index.clusters), vectors, queries, index.metric,
    )  # fmt: skip


def with_vectors(
    rows: pa.Table, storage: pa.Schema, column: Column, vectors: np.ndarray,
    valid: np.ndarray | None = None,
) -> pa.Table:  # fmt: skip
    """`rows` (every column of `storage` but `column`) with `column` made of `vectors`
    (n, d) float32, NULL where `valid` is False."""
    flat = pa.array(vectors.reshape(-1), pa.float32())
    mask = None if valid is None else pa.array(~valid)
    vector = pa.FixedSizeListArray.from_arrays(flat, column.dim, mask=mask)
    field = storage.field(column.name)
    columns = [
        vector.cast(field.type) if name == column.name else rows.column(name)
        for name in storage.names
    ]
    return pa.Table.from_arrays(columns, schema=storage)


def vectors_of(arr: pa.FixedSizeListArray, column: Column) -> np.ndarray:
    """An (n, d) float32 view of a vector column (NULL rows hold zeros)."""
    dim = column.dim
    assert dim is not None
    values = arr.values.slice(arr.offset * dim, len(arr) * dim)
    return values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, dim)


def as_array(column: pa.ChunkedArray) -> pa.Array:
    """One array for a column; no copy when it has one chunk (combine_chunks always copies)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
