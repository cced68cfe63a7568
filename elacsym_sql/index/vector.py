"""Per-segment HNSW vector index (hnswlib), with filtered search and an exact fallback.

A segment's index is one immutable file: hnswlib's own `save_index` format, labels = the rows'
positions in the segment (0..n-1). `HnswIndex` loads it, memory-maps the same file to reach
the stored vectors without copying them (exact search over a small allowed set, `exact=True`;
where they lie in the file: hnswlib_layout.py), and answers searches with `_distance` values
in the conventions of `exact.py` (smaller is closer): hnswlib's squared l2 becomes its square
root, and its ``1 - q.v`` for inner product becomes ``-(q.v)``.

Concurrency: hnswlib releases the GIL inside `knn_query`, so searches from several threads run
in parallel. `ef` is index-wide state in hnswlib (`set_ef`); a gate lets searches with the same
ef run together and makes a search with another ef wait until they finish.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import hnswlib
import numpy as np

from elacsym_sql.errors import CorruptObject, InvalidParameterValue, InvalidVector
from elacsym_sql.index.exact import (
    as_queries,
    as_vectors,
    check_allowed,
    check_k,
    check_metric,
    exact_search,
    vector_norms,
)
from elacsym_sql.index.hnswlib_layout import map_index_file, stored_vectors

# hnswlib space per metric.
_SPACES = {"cosine": "cosine", "l2": "l2", "dot": "ip"}

DEFAULT_M = 16
# ef_construction 200: recall@10 0.988 at ef=64 on the 133k sentence vectors, build 18.6 s on
# 2 cores; 100 gives 0.982 at half the build time, too close to the 0.98 target.
DEFAULT_EF_CONSTRUCTION = 200
DEFAULT_EF = 64
# The ef of an index with no calibration (built before decision 0063): recall@10 0.967 on
# out-of-corpus queries over the 133k sentence vectors (0.928 at 64).
UNCALIBRATED_EF = 128
# Segments with fewer rows get no HNSW file. Measured at 384-d (ms/query, exact with cached
# norms vs HNSW ef=64): 1k 0.07 vs 0.04, 2k 0.08 vs 0.05, 5k 0.11 vs 0.06, 10k 0.18 vs 0.07,
# 20k 0.55 vs 0.11. Up to 5k rows exact costs at most ~0.05 ms more, is exact, and saves the
# build (0.33 s at 5k) and an object per segment.
SMALL_SEGMENT_ROWS = 5_000
# A filtered search goes exact over the allowed rows when there are at most
# EXACT_FALLBACK_ROWS of them, or when count^2 <= EXACT_FALLBACK_FACTOR * ef * n: a graph search
# that must pass over disallowed rows costs ~ ef * n / count, the exact one ~ count. Measured
# crossover (ef=64): count^2/(ef*n) ~ 9.5 at n=133k (6.6k rows: exact 1.1 ms vs graph 2.4 ms;
# 13k rows: 2.8 vs 1.3) and ~15-20 at n=20k; below it the graph is also less accurate.
EXACT_FALLBACK_ROWS = 2_000
EXACT_FALLBACK_FACTOR = 10.0


def build_hnsw_file(
    vectors: np.ndarray,
    metric: str,
    path: str | os.PathLike[str],
    *,
    M: int = DEFAULT_M,
    ef_construction: int = DEFAULT_EF_CONSTRUCTION,
    num_threads: int = -1,
    seed: int = 100,
) -> int:
    """Build an HNSW index over `vectors` (n, d) and write it to `path`; returns its size."""
    check_metric(metric)
    vecs = as_vectors(vectors)
    n, dim = vecs.shape
    if dim == 0:
        raise InvalidVector("vectors have no dimensions")
    if not np.isfinite(vecs).all():
        raise InvalidVector("vectors contain NaN or infinity")
    for name, value, low in (("M", M, 2), ("ef_construction", ef_construction, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidParameterValue(f"{name} must be an integer >= {low}, got {value!r}")
    index = hnswlib.Index(space=_SPACES[metric], dim=dim)
    index.init_index(max_elements=n, M=M, ef_construction=ef_construction, random_seed=seed)
    if n:
        index.add_items(vecs, num_threads=num_threads)  # labels 0..n-1
    index.save_index(os.fspath(path))
    return os.path.getsize(path)


def build_hnsw(
    vectors: np.ndarray,
    metric: str,
    *,
    M: int = DEFAULT_M,
    ef_construction: int = DEFAULT_EF_CONSTRUCTION,
    num_threads: int = -1,
    seed: int = 100,
    tmp_dir: str | None = None,
) -> bytes:
    """The serialized HNSW index over `vectors` (n, d) float32; labels are row positions."""
    fd, tmp = tempfile.mkstemp(suffix=".hnsw", dir=tmp_dir)
    os.close(fd)
    try:
        build_hnsw_file(
            vectors, metric, tmp, M=M, ef_construction=ef_construction,
            num_threads=num_threads, seed=seed,
        )  # fmt: skip
        return Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)


def _prefer_exact(count: int, n: int, ef: int) -> bool:
    return count <= EXACT_FALLBACK_ROWS or count * count <= EXACT_FALLBACK_FACTOR * ef * n


class _EfGate:
    """Searches with the same ef share hnswlib's index-wide ef; another ef waits its turn.

    `enter(ef)` returns once hnswlib's ef is `ef` and no search with another ef is running;
    `leave()` ends the search. A search waiting for another ef blocks newcomers with the
    current ef, so it cannot starve.
    """

    def __init__(self, index: hnswlib.Index):
        self._index = index
        self._cond = threading.Condition(threading.Lock())
        self._ef = -1
        self._active = 0
        self._waiting = 0
        self._next: int | None = None  # the ef a waiting search asked for

    def enter(self, ef: int) -> None:
        with self._cond:
            if self._ef == ef and self._next is None:  # the common, uncontended case
                self._active += 1
                return
            while True:
                if self._active == 0 and self._next in (None, ef):
                    if self._ef != ef:
                        self._index.set_ef(ef)
                        self._ef = ef
                    if self._next is not None:
                        self._next = None
                        self._cond.notify_all()  # others with this ef may join; others re-queue
                    break
                if self._active and self._ef == ef and self._next is None:
                    break
                if self._next is None:
                    self._next = ef
                self._waiting += 1
                self._cond.wait()
                self._waiting -= 1
            self._active += 1

    def leave(self) -> None:
        with self._cond:
            self._active -= 1
            if self._active == 0 and self._waiting:
                self._cond.notify_all()


class HnswIndex:
    """A loaded HNSW index file; `search` is safe to call from many threads at once."""

    def __init__(
        self, index: hnswlib.Index, metric: str, dim: int, mm: np.memmap, nbytes: int
    ) -> None:
        self._index = index
        self.metric = metric
        self.dim = dim
        self.count = index.element_count
        self.nbytes = nbytes
        self._gate = _EfGate(index)
        self._norms: np.ndarray | None = None
        self._mm = mm
        self._vectors, self._internal = stored_vectors(mm, self.count, dim)
        if self.count:
            probe = int(self._internal[0])
            if not np.array_equal(self._vectors[probe], index.get_items([0])[0]):
                raise CorruptObject("HNSW index file layout does not match hnswlib's")

    @classmethod
    def load(
        cls,
        source: str | os.PathLike[str] | bytes | bytearray | memoryview,
        metric: str,
        dim: int,
        *,
        tmp_dir: str | None = None,
    ) -> HnswIndex:
        """Load an index from a file path or from the bytes `build_hnsw` returned."""
        check_metric(metric)
        if isinstance(source, bytes | bytearray | memoryview):
            fd, tmp = tempfile.mkstemp(suffix=".hnsw", dir=tmp_dir)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(source)
                return cls._load_path(tmp, metric, dim)
            finally:
                os.unlink(tmp)  # the memory map keeps the file's pages while the index lives
        return cls._load_path(os.fspath(source), metric, dim)

    @classmethod
    def _load_path(cls, path: str, metric: str, dim: int) -> HnswIndex:
        mm = map_index_file(path, dim)
        nbytes = len(mm)
        index = hnswlib.Index(space=_SPACES[metric], dim=dim)
        try:
            index.load_index(path, max_elements=0)
        except RuntimeError as exc:
            raise CorruptObject(f"HNSW index file {path} does not load: {exc}") from exc
        return cls(index, metric, dim, mm, nbytes)

    def __len__(self) -> int:
        return self.count

    def get_vectors(self, positions: np.ndarray) -> np.ndarray:
        """Stored vectors (float32 (len, dim)) at row positions; unit length for cosine."""
        pos = np.asarray(positions, dtype=np.int64)
        return self._vectors[self._internal[pos]]

    def search(
        self,
        queries: np.ndarray,
        k: int,
        ef: int = DEFAULT_EF,
        allowed: np.ndarray | None = None,
        *,
        exact: bool | None = None,
        num_threads: int = -1,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest allowed rows to each query.

        `queries` is (m, dim) (or one (dim,) vector); `allowed` an optional boolean mask over
        the n rows. Returns (positions int64 (m, k'), distances float32 (m, k')), nearest first,
        with k' = min(k, allowed rows). `exact`: None chooses (exact over a small allowed
        set), True always searches exactly, False always uses the graph (then still exact for
        any query the graph cannot fill). `num_threads` as hnswlib's knn_query (-1: all cores
        for a batch; a single query runs on the calling thread).
        """
        k = check_k(k)
        if isinstance(ef, bool) or not isinstance(ef, int | np.integer) or ef <= 0:
            raise InvalidParameterValue(f"ef must be a positive integer, got {ef!r}")
        q = as_queries(queries, self.dim)
        n = self.count
        count = n
        if allowed is not None:
            allowed = check_allowed(allowed, n)
            count = int(np.count_nonzero(allowed))
            if count == n:
                allowed = None
        kk = min(k, count)
        if kk == 0:
            m = q.shape[0]
            return np.empty((m, 0), np.int64), np.empty((m, 0), np.float32)
        if exact or (exact is None and allowed is not None and _prefer_exact(count, n, int(ef))):
            return self._exact(q, kk, allowed)
        # A bound lookup in a bytes object: the cheapest callback (it runs under the GIL).
        filt = None if allowed is None else allowed.view(np.uint8).tobytes().__getitem__
        gate = self._gate
        gate.enter(int(ef))
        try:
            labels, dist = self._index.knn_query(q, kk, num_threads=num_threads, filter=filt)
        except RuntimeError:  # some query found fewer than kk rows: answer one by one
            return self._one_by_one(q, kk, filt, allowed)
        finally:
            gate.leave()
        return labels.astype(np.int64), self._convert(dist)

    def _convert(self, dist: np.ndarray) -> np.ndarray:
        if self.metric == "l2":
            return np.sqrt(np.maximum(dist, 0, out=dist), out=dist)
        if self.metric == "dot":
            dist -= np.float32(1.0)
        return dist

    def _one_by_one(
        self, q: np.ndarray, kk: int, filt: object, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        positions = np.empty((q.shape[0], kk), np.int64)
        distances = np.empty((q.shape[0], kk), np.float32)
        for i in range(q.shape[0]):
            try:
                labels, dist = self._index.knn_query(q[i : i + 1], kk, num_threads=1, filter=filt)
                positions[i], distances[i] = labels[0], self._convert(dist)[0]
            except RuntimeError:  # top up: the exact answer for this query
                p, d = self._exact(q[i : i + 1], kk, allowed)
                positions[i], distances[i] = p[0], d[0]
        return positions, distances

    def _exact(
        self, q: np.ndarray, kk: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(self.count) if allowed is None else np.flatnonzero(allowed)
        internal = self._internal[rows]
        pos, dist = exact_search(
            self._vectors[internal], q, kk, self.metric, norms=self._row_norms(internal)
        )
        return rows[pos], dist

    def _row_norms(self, internal: np.ndarray) -> np.ndarray | None:
        """Norms of stored vectors by internal id: 1 for cosine (hnswlib stores them unit
        length), computed once for l2, not needed for dot."""
        if self.metric == "cosine":
            return np.ones(len(internal), np.float32)
        if self.metric == "l2":
            if self._norms is None:
                self._norms = vector_norms(self._vectors)
            return self._norms[internal]
        return None

    def close(self) -> None:
        """Drop the graph and the file mapping; the index is unusable afterwards."""
        self._index = None  # type: ignore[assignment]
        self._vectors = self._internal = self._norms = None  # type: ignore[assignment]
        self._mm = None  # type: ignore[assignment]
