"""Vector search over one snapshot: every segment's index (or exact search), the unindexed
tail searched exhaustively, deleted and superseded rows excluded, results merged.

Returns whole rows, so callers never join back to the namespace (DESIGN.md §10).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import (
    CorruptObject,
    InvalidParameterValue,
    InvalidVector,
    UndefinedColumn,
    UndefinedFunction,
)
from ..index import DEFAULT_EF, HnswIndex, exact_search, fulltext
from ..schema import Column
from .fold import full_text_ops
from .namespace import Snapshot
from .segments import SegmentFiles, as_array, vectors_of

DISTANCE = "_distance"
SCORE = "_score"


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
        keys = as_array(rows.column(key))
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
    rows = _gather([s.rows for s in sources], order)
    return SearchResult(rows.append_column(DISTANCE, pa.array(distances, pa.float32())), offsets)


def _gather(tables: list[pa.Table], order: list[tuple[int, int]]) -> pa.Table:
    """Rows at (table, position) pairs, in that order."""
    if not order:
        return tables[-1].schema.empty_table()
    src = np.array([s for s, _ in order])
    pos = np.array([p for _, p in order])
    parts, where = [], np.empty(len(order), dtype=np.int64)
    done = 0
    for s in np.unique(src):
        idx = np.flatnonzero(src == s)
        parts.append(tables[s].take(pa.array(pos[idx])))
        where[idx] = np.arange(done, done + len(idx))
        done += len(idx)
    return pa.concat_tables(parts).take(pa.array(where))


# -- full text -----------------------------------------------------------------------------


class FullTextIndexes:
    """This process's live full-text index of each namespace (base version + WAL tail)."""

    def __init__(self, files: SegmentFiles) -> None:
        self._files = files
        self._live: dict[str, tuple[str, fulltext.LiveIndex]] = {}
        self._lock = threading.Lock()

    def searcher(self, snap: Snapshot) -> fulltext.Searcher:
        if not snap.schema.options.full_text:
            raise UndefinedFunction(
                f"namespace {snap.name} has no full-text index",
                hint="CREATE TABLE ... WITH (full_text = 'column, ...')",
            )
        with self._lock:
            held = self._live.get(snap.name)
            if held is None or held[0] != snap.manifest.incarnation:
                if held is not None:
                    held[1].close()
                spec = fulltext.FtsSpec.from_schema(snap.schema)
                live = fulltext.LiveIndex(spec, self._files, self._files.work_dir)
                held = self._live[snap.name] = (snap.manifest.incarnation, live)
        state = snap.manifest.fts
        return held[1].view(
            fulltext.FtsState.from_json(state) if state else None, full_text_ops(snap)
        )

    def close(self) -> None:
        with self._lock:
            for _, live in self._live.values():
                live.close()
            self._live.clear()


def text_search(
    snap: Snapshot,
    files: SegmentFiles,
    searcher: fulltext.Searcher,
    queries: list[str],
    k: int,
    *,
    mode: str = "or",
    columns: str | None = None,
    allowed_keys: pa.Array | None = None,
) -> SearchResult:
    """The k best BM25 matches of each query text, as whole rows plus `_score`."""
    allowed = None if allowed_keys is None else allowed_keys.to_pylist()
    hits = [
        searcher.search(text, k, mode=mode, columns=columns, allowed=allowed) for text in queries
    ]
    keys = [h.key for found in hits for h in found]
    tables, order = rows_by_keys(snap, files, keys)
    offsets = np.zeros(len(queries) + 1, dtype=np.int32)
    np.cumsum([len(found) for found in hits], out=offsets[1:])
    scores = pa.array([h.score for found in hits for h in found], pa.float32())
    return SearchResult(_gather(tables, order).append_column(SCORE, scores), offsets)


def rows_by_keys(
    snap: Snapshot, files: SegmentFiles, keys: list[object]
) -> tuple[list[pa.Table], list[tuple[int, int]]]:
    """Where each key's live row is: (tables, [(table, position)]) in the order of `keys`."""
    key = snap.schema.primary_key
    wanted = pa.array(keys, snap.schema.arrow_schema.field(key).type)
    tables = [snap.tail.rows]
    found = pc.index_in(wanted, value_set=snap.tail.rows.column(key).combine_chunks())
    where: list[tuple[int, int] | None] = [None if p is None else (0, p) for p in found.to_pylist()]
    for seg in snap.manifest.segments:  # the tail's rows, found first, hide older copies
        rows = files.rows(snap.name, seg, snap.schema)
        dead = set(files.deletes(snap.name, seg).tolist())
        positions = pc.index_in(wanted, value_set=as_array(rows.column(key))).to_pylist()
        tables.append(rows)
        for i, p in enumerate(positions):
            if where[i] is None and p is not None and p not in dead:
                where[i] = (len(tables) - 1, p)
    if any(w is None for w in where):
        raise CorruptObject(f"full-text index of {snap.name} names rows that do not exist")
    return tables, [w for w in where if w is not None]


def measure_recall(
    snap: Snapshot,
    files: SegmentFiles,
    column: Column,
    sample: int,
    k: int = 10,
    ef: int | None = None,
    seed: int = 0,
) -> float | None:
    """Recall@k of the index search against exact search, with `sample` stored vectors of
    live rows as queries; None when the namespace has no vectors."""
    sources = [*_segment_sources(snap, files, column), _tail_source(snap, column)]
    pool = np.concatenate([s.vectors[s.usable] for s in sources]) if sources else None
    if pool is None or not len(pool):
        return None
    rng = np.random.default_rng(seed)
    queries = pool[rng.choice(len(pool), size=min(sample, len(pool)), replace=False)]
    ann = vector_search(snap, files, column, queries, k, ef=ef)
    exact = vector_search(snap, files, column, queries, k, exact=True)
    key = snap.schema.primary_key
    found = total = 0
    for i in range(len(queries)):
        want = set(exact.rows.column(key)[exact.offsets[i] : exact.offsets[i + 1]].to_pylist())
        got = set(ann.rows.column(key)[ann.offsets[i] : ann.offsets[i + 1]].to_pylist())
        found += len(want & got)
        total += len(want)
    return found / total if total else None
