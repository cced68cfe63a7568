"""Vector search over one snapshot: every segment's index (or exact search), the unindexed
tail searched exhaustively, deleted and superseded rows excluded, results merged.

What a search runs over (each segment's rows, vectors, index and usable-rows mask, the
tail's vectors) depends only on the snapshot, so it is built once per snapshot and column
and kept in the memory cache; so are the masks of a filter, keyed by the filter's text.
Returns whole rows, so callers never join back to the namespace (DESIGN.md §10).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..catalog import SegmentEntry
from ..errors import InvalidParameterValue, UndefinedColumn
from ..index import UNCALIBRATED_EF, HnswIndex, exact_search, vector_norms
from ..index.calibrate import Curve, ef_for
from ..interrupts import check_interrupt
from ..schema import Column
from .cold_search import ColdSegment, Found, search_cold
from .namespace import Snapshot
from .search import DISTANCE, SearchResult, gather
from .segments import SegmentFiles, as_array, vectors_of


@dataclass(frozen=True)
class _Source:
    """Rows one search runs over: a segment or the tail."""

    rows: pa.Table
    keys: pa.Array
    vectors: np.ndarray  # (n, d) float32; rows whose vector is NULL are not in `usable`
    usable: np.ndarray  # bool (n,): live, not superseded, vector present
    index: HnswIndex | None  # when the segment has one
    curve: Curve = ()  # the index's recall at each ef, measured when it was built
    norms: np.ndarray | None = None  # of `vectors`, for exact search (cosine and l2)

    def ef(self, target: float) -> int | None:
        """The ef that reaches `target` on this index; None: search it exactly (as for a
        target of 1)."""
        if target >= 1:
            return None
        return ef_for(self.curve, target) if self.curve else UNCALIBRATED_EF


@dataclass(frozen=True)
class _Sources:
    """Everything one snapshot's search over one column runs over, cached as a unit: loaded
    segments, segments searched through their clustered index (ColdSegment), the tail."""

    items: tuple[_Source | ColdSegment, ...]

    @property
    def nbytes(self) -> int:  # what the memory cache charges: the masks (the rest is shared)
        masks = sum(s.usable.nbytes for s in self.items if isinstance(s, _Source))
        return masks + self.items[-1].rows.nbytes  # type: ignore[union-attr]


@dataclass(frozen=True)
class _Masks:
    items: tuple[np.ndarray, ...]

    @property
    def nbytes(self) -> int:
        return sum(m.nbytes for m in self.items)


def vector_column(snap: Snapshot, name: str | None) -> Column:
    vectors = snap.schema.vector_columns
    if name is None:
        if len(vectors) != 1:
            raise InvalidParameterValue(
                f"namespace {snap.name} has {len(vectors)} vector columns: "
                "choose one with column :="
            )
        return vectors[0]
    for col in vectors:
        if col.name == name:
            return col
    raise UndefinedColumn(f'vector column "{name}" of relation "{snap.name}" does not exist')


def vector_search(
    snap: Snapshot,
    files: SegmentFiles,
    column: Column,
    queries: np.ndarray,
    k: int,
    *,
    ef: int | None = None,
    exact: bool = False,
    allowed_keys: Callable[[], pa.Array] | None = None,
    filter_id: Hashable | None = None,
    recall_target: float | None = None,
) -> SearchResult:
    """The k nearest live rows to each query (rows of `queries`), by the namespace's metric.

    `allowed_keys` computes the keys a filter admits; with a `filter_id` (the filter's
    text) the resulting masks are cached for this snapshot and computed only once. Each
    index is searched with `ef`, or else the ef its calibration found for `recall_target`
    (default: the namespace's option), or exactly when no calibrated ef reaches it.
    """
    # k and the queries were checked by the engine API (check_k, query_matrix), once.
    assert k > 0 and queries.ndim == 2 and queries.shape[1] == column.dim
    metric = snap.schema.options.metric
    target = snap.schema.options.recall_target if recall_target is None else recall_target
    sources = _sources(snap, files, column).items
    masks: list[np.ndarray | None] = [s.usable if isinstance(s, _Source) else None for s in sources]
    if allowed_keys is not None:
        masks = list(_filter_masks(snap, files, column, sources, allowed_keys, filter_id).items)
    searched: list[_Source | Found] = []
    hits: list[tuple[int, np.ndarray, np.ndarray]] = []  # (searched, positions, distances)
    for source, allowed in zip(sources, masks, strict=True):
        check_interrupt()  # statement_timeout or cancel, between segments
        if isinstance(source, ColdSegment):
            nprobe = None if exact else (ef or source.nprobe(target))
            if nprobe is not None:
                found = search_cold(snap, files, column, source, queries, k, nprobe, allowed)
                hits.append((len(searched), found.positions, found.distances))
                searched.append(found)
                continue
            # searched exactly: its rows loaded, as a segment without an index
            source = _loaded(snap, files, column, source.seg, index=False)
            allowed = source.usable if allowed is None else allowed & source.usable
        assert allowed is not None
        count = int(np.count_nonzero(allowed))
        if count == 0:
            continue
        mask = None if count == len(allowed) else allowed
        breadth = (ef or source.ef(target)) if source.index is not None and not exact else None
        if breadth is not None:
            pos, dist = source.index.search(queries, k, ef=breadth, allowed=mask)  # type: ignore[union-attr]
        else:
            pos, dist = exact_search(
                source.vectors, queries, k, metric, allowed=mask, norms=source.norms
            )
        hits.append((len(searched), pos, dist))
        searched.append(source)
    return _merge(tuple(searched), hits, len(queries), k, sources[-1].rows)  # type: ignore[union-attr]


def _sources(snap: Snapshot, files: SegmentFiles, column: Column) -> _Sources:
    return files.memory.get(
        ("vector-sources", snap.name, snap.token, column.name),
        lambda: _Sources((*_segment_sources(snap, files, column), _tail_source(snap, column))),
    )


def _filter_masks(
    snap: Snapshot,
    files: SegmentFiles,
    column: Column,
    sources: tuple[_Source | ColdSegment, ...],
    allowed_keys: Callable[[], pa.Array],
    filter_id: Hashable | None,
) -> _Masks:
    def mask(s: _Source | ColdSegment, keys: pa.Array) -> np.ndarray:
        if isinstance(s, _Source):
            usable, own = s.usable, s.keys
        else:  # a filter over a clustered segment reads its keys (not its rows)
            usable = s.live()
            own = files.keys(snap.name, s.seg, snap.schema.primary_key)
            usable = np.ones(len(own), bool) if usable is None else usable
        return usable & pc.is_in(own, value_set=keys).to_numpy(zero_copy_only=False)

    def build() -> _Masks:
        keys = allowed_keys()
        return _Masks(tuple(mask(s, keys) for s in sources))

    if filter_id is None:
        return build()
    return files.memory.get(("vector-filter", snap.name, snap.token, column.name, filter_id), build)


def _segment_sources(
    snap: Snapshot, files: SegmentFiles, column: Column
) -> list[_Source | ColdSegment]:
    out: list[_Source | ColdSegment] = []
    for seg in snap.manifest.segments:
        check_interrupt()  # loading a segment may download it
        ivf = files.clustered_index(snap.name, seg, column)
        if ivf is None:
            out.append(_loaded(snap, files, column, seg))
            continue
        curve = tuple((int(b), float(r)) for b, r in seg.ef_recall.get(f"ivf:{column.name}", ()))
        out.append(ColdSegment(seg, ivf, curve, files.deletes(snap.name, seg)))
    return out


def _loaded(
    snap: Snapshot, files: SegmentFiles, column: Column, seg: SegmentEntry, index: bool = True
) -> _Source:
    """A segment's rows, vectors and usable rows in memory, with its HNSW index if any."""
    key = snap.schema.primary_key
    hidden = snap.tail.keys
    rows = files.rows(snap.name, seg, snap.schema)
    keys = as_array(rows.column(key))
    usable = files.vector_mask(snap.name, seg, rows, column.name).copy()
    usable[files.deletes(snap.name, seg)] = False
    if len(hidden):
        usable &= ~pc.is_in(keys, value_set=hidden).to_numpy(zero_copy_only=False)
    vectors = files.vectors(snap.name, seg, rows, column)
    hnsw = files.vector_index(snap.name, seg, column, snap.schema.options.metric) if index else None
    curve = tuple((int(e), float(r)) for e, r in seg.ef_recall.get(f"hnsw:{column.name}", ()))
    norms = files.vector_norms(snap.name, seg, vectors, column.name) if hnsw is None else None
    return _Source(rows, keys, vectors, usable, hnsw, curve, norms)


def _tail_source(snap: Snapshot, column: Column) -> _Source:
    rows = snap.tail.rows.combine_chunks()
    arr = as_array(rows.column(column.name))
    vectors = vectors_of(arr, column)
    return _Source(
        rows,
        as_array(rows.column(snap.schema.primary_key)),
        vectors,
        arr.is_valid().to_numpy(zero_copy_only=False),
        None,
        norms=vector_norms(vectors),  # once per snapshot, not once per search
    )


def _merge(
    sources: tuple[_Source | Found, ...],
    hits: list[tuple[int, np.ndarray, np.ndarray]],
    n_queries: int,
    k: int,
    empty: pa.Table,
) -> SearchResult:
    """The k best hits of each query over all sources, by (distance, key)."""
    query_of, source_of, positions, distances = [], [], [], []
    for s, pos, dist in hits:
        found = pos >= 0
        query_of.append(np.nonzero(found)[0])
        positions.append(pos[found])
        distances.append(dist[found].astype(np.float32, copy=False))
        source_of.append(np.full(len(positions[-1]), s))
    offsets = np.zeros(n_queries + 1, dtype=np.int32)
    if not hits or not sum(len(p) for p in positions):
        rows = empty.schema.empty_table()
        return SearchResult(rows.append_column(DISTANCE, pa.array([], pa.float32())), offsets)
    query = np.concatenate(query_of)
    dist = np.concatenate(distances)
    order = np.lexsort((dist, query))
    tied = (np.diff(dist[order]) == 0) & (np.diff(query[order]) == 0)
    if tied.any():  # ties in distance are broken by key: rank the keys, sort numbers only
        pairs = zip(hits, positions, strict=True)
        keys = [sources[s].keys.take(pa.array(p)) for (s, _, _), p in pairs]
        key_rank = pc.rank(pa.concat_arrays(keys), sort_keys="ascending", tiebreaker="dense")
        order = np.lexsort((key_rank.to_numpy(), dist, query))
    by_query = query[order]
    within = np.arange(len(order)) - np.searchsorted(by_query, by_query)  # rank in its query
    best = within < k
    keep = order[best]
    np.cumsum(np.bincount(by_query[best], minlength=n_queries), out=offsets[1:])
    rows = gather(
        [s.rows for s in sources],
        np.concatenate(source_of)[keep],
        np.concatenate(positions)[keep],
    )
    return SearchResult(rows.append_column(DISTANCE, pa.array(dist[keep])), offsets)


def stored_queries(snap: Snapshot, files: SegmentFiles, column: Column, sample: int) -> np.ndarray:
    """`sample` stored vectors of live rows (fewer when there are fewer), chosen at random."""
    sources = [
        s if isinstance(s, _Source) else _loaded(snap, files, column, s.seg, index=False)
        for s in _sources(snap, files, column).items
    ]
    pool = np.concatenate([s.vectors[s.usable] for s in sources])
    rng = np.random.default_rng(0)
    return pool[rng.choice(len(pool), size=min(sample, len(pool)), replace=False)]


def measure_recall(
    snap: Snapshot, files: SegmentFiles, column: Column, queries: np.ndarray, k: int = 10
) -> float | None:
    """Recall@k of a default search against exact search over `queries`; None without
    queries or rows to find."""
    if not len(queries):
        return None
    ann = vector_search(snap, files, column, queries, k)
    exact = vector_search(snap, files, column, queries, k, exact=True)
    key = snap.schema.primary_key
    found = total = 0
    for i in range(len(queries)):
        want = set(exact.rows.column(key)[exact.offsets[i] : exact.offsets[i + 1]].to_pylist())
        got = set(ann.rows.column(key)[ann.offsets[i] : ann.offsets[i + 1]].to_pylist())
        found += len(want & got)
        total += len(want)
    return found / total if total else None
