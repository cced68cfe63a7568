"""Vector search over one snapshot: every segment's index (or exact search), the unindexed
tail searched exhaustively, deleted and superseded rows excluded, results merged.

Returns whole rows, so callers never join back to the namespace (DESIGN.md §10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidParameterValue, InvalidVector, UndefinedColumn
from ..index import DEFAULT_EF, HnswIndex, exact_search
from ..schema import Column
from .namespace import Snapshot
from .segments import SegmentFiles, vectors_of

DISTANCE = "_distance"


@dataclass(frozen=True)
class _Source:
    """Rows one search runs over: a segment or the tail."""

    rows: pa.Table
    keys: pa.Array
    vectors: np.ndarray  # (n, d) float32; rows whose vector is NULL are not in `usable`
    usable: np.ndarray  # bool (n,): live, not superseded, vector present
    index: HnswIndex | None  # when the segment has one


@dataclass(frozen=True)
class SearchResult:
    rows: pa.Table  # the namespace's columns plus _distance, query after query, best first
    offsets: np.ndarray  # rows of query i are rows[offsets[i]:offsets[i + 1]]


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
    allowed_keys: pa.Array | None = None,
) -> SearchResult:
    """The k nearest live rows to each query (rows of `queries`), by the namespace's metric."""
    dim = column.dim
    assert dim is not None
    if k <= 0:
        raise InvalidParameterValue("k must be greater than zero")
    if queries.ndim != 2 or queries.shape[1] != dim:
        got = queries.shape[-1] if queries.ndim else 0
        raise InvalidVector(f'expected {dim} dimensions, not {got}, for column "{column.name}"')
    if not np.isfinite(queries).all():
        raise InvalidVector("query vector contains NaN or infinity")
    metric = snap.schema.options.metric
    sources = [*_segment_sources(snap, files, column), _tail_source(snap, column)]
    hits: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (source, position, distance)
    for s, source in enumerate(sources):
        allowed = source.usable
        if allowed_keys is not None:
            allowed = allowed & pc.is_in(source.keys, value_set=allowed_keys).to_numpy(
                zero_copy_only=False
            )
        if not allowed.any():
            continue
        mask = None if allowed.all() else allowed
        if source.index is not None and not exact:
            pos, dist = source.index.search(queries, k, ef=ef or DEFAULT_EF, allowed=mask)
        else:
            pos, dist = exact_search(source.vectors, queries, k, metric, allowed=mask)
        hits.append((np.full(pos.shape, s), pos, dist))
    return _merge(sources, hits, len(queries), k)


def _segment_sources(snap: Snapshot, files: SegmentFiles, column: Column) -> list[_Source]:
    out = []
    hidden = snap.tail.keys
    key = snap.schema.primary_key
    for seg in snap.manifest.segments:
        rows = files.rows(snap.name, seg, snap.schema)
        keys = rows.column(key).combine_chunks()
        usable = files.vector_mask(snap.name, seg, rows, column.name).copy()
        usable[files.deletes(snap.name, seg)] = False
        if len(hidden):
            usable &= ~pc.is_in(keys, value_set=hidden).to_numpy(zero_copy_only=False)
        vectors = files.vectors(snap.name, seg, rows, column)
        index = files.vector_index(snap.name, seg, column, snap.schema.options.metric)
        out.append(_Source(rows, keys, vectors, usable, index))
    return out


def _tail_source(snap: Snapshot, column: Column) -> _Source:
    rows = snap.tail.rows
    arr = rows.column(column.name).combine_chunks()
    return _Source(
        rows,
        rows.column(snap.schema.primary_key).combine_chunks(),
        vectors_of(arr, column),
        arr.is_valid().to_numpy(zero_copy_only=False),
        None,
    )


def _merge(
    sources: list[_Source],
    hits: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    n_queries: int,
    k: int,
) -> SearchResult:
    picked: list[list[tuple[float, object, int, int]]] = [[] for _ in range(n_queries)]
    for src, pos, dist in hits:
        for q in range(n_queries):
            for s, p, d in zip(src[q], pos[q], dist[q], strict=True):
                if p >= 0:
                    picked[q].append((float(d), sources[s].keys[p].as_py(), int(s), int(p)))
    order: list[tuple[int, int]] = []  # (source, position), query after query
    distances: list[float] = []
    offsets = np.zeros(n_queries + 1, dtype=np.int32)
    for q, candidates in enumerate(picked):
        best = sorted(candidates, key=lambda c: (c[0], c[1]))[:k]  # ties broken by key
        order.extend((s, p) for _, _, s, p in best)
        distances.extend(d for d, _, _, _ in best)
        offsets[q + 1] = len(order)
    return SearchResult(
        _gather(sources, order).append_column(DISTANCE, pa.array(distances, pa.float32())), offsets
    )


def _gather(sources: list[_Source], order: list[tuple[int, int]]) -> pa.Table:
    """Rows at (source, position) pairs, in that order."""
    if not order:
        return sources[-1].rows.schema.empty_table()
    src = np.array([s for s, _ in order])
    pos = np.array([p for _, p in order])
    parts, where = [], np.empty(len(order), dtype=np.int64)
    done = 0
    for s in np.unique(src):
        idx = np.flatnonzero(src == s)
        parts.append(sources[s].rows.take(pa.array(pos[idx])))
        where[idx] = np.arange(done, done + len(idx))
        done += len(idx)
    return pa.concat_tables(parts).take(pa.array(where))
