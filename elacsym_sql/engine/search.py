"""Search results as whole rows, and full-text search over one snapshot: the namespace's
tantivy index (base version plus the WAL tail), its hits located among live rows.

Returns whole rows, so callers never join back to the namespace (DESIGN.md §10).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import CorruptObject, UndefinedFunction
from ..index import fulltext
from ..interrupts import check_interrupt
from ..schema import Schema
from .fold import full_text_ops
from .namespace import Snapshot
from .segments import SegmentFiles, as_array

DISTANCE = "_distance"
SCORE = "_score"


@dataclass(frozen=True)
class SearchResult:
    rows: pa.Table  # the namespace's columns plus _distance, query after query, best first
    offsets: np.ndarray  # rows of query i are rows[offsets[i]:offsets[i + 1]]
    schema: Schema | None = None  # of the snapshot searched (the engine API sets it)


def gather(tables: list[pa.Table], table_of: np.ndarray, position: np.ndarray) -> pa.Table:
    """Rows `position[i]` of `tables[table_of[i]]`, in that order."""
    if not len(table_of):
        return tables[-1].schema.empty_table()
    first = table_of[0]
    if (table_of == first).all():  # one table (the common case): one take
        return tables[first].take(pa.array(position))
    parts, where = [], np.empty(len(table_of), dtype=np.int64)
    done = 0
    for t in np.unique(table_of):
        idx = np.flatnonzero(table_of == t)
        parts.append(tables[t].take(pa.array(position[idx])))
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

    def applied(self, name: str) -> int | None:
        """The highest WAL sequence number the live index of `name` includes; None when this
        process has not built one."""
        held = self._live.get(name)
        return None if held is None else held[1].applied

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
    hits = []
    for text in queries:
        check_interrupt()  # statement_timeout or cancel, between queries
        hits.append(searcher.search(text, k, mode=mode, columns=columns, allowed=allowed))
    keys = [h.key for found in hits for h in found]
    tables, table_of, position = rows_by_keys(snap, files, keys)
    offsets = np.zeros(len(queries) + 1, dtype=np.int32)
    np.cumsum([len(found) for found in hits], out=offsets[1:])
    scores = pa.array([h.score for found in hits for h in found], pa.float32())
    rows = gather(tables, table_of, position)
    return SearchResult(rows.append_column(SCORE, scores), offsets)


def rows_by_keys(
    snap: Snapshot, files: SegmentFiles, keys: list[object]
) -> tuple[list[pa.Table], np.ndarray, np.ndarray]:
    """Where each key's live row is: (tables, table of each key, position in it)."""
    key = snap.schema.primary_key
    wanted = pa.array(keys, snap.schema.arrow_schema.field(key).type)
    tables = [snap.tail.rows]
    found = pc.index_in(wanted, value_set=snap.tail.rows.column(key).combine_chunks())
    where: list[tuple[int, int] | None] = [None if p is None else (0, p) for p in found.to_pylist()]
    for seg in snap.manifest.segments:  # the tail's rows, found first, hide older copies
        check_interrupt()
        rows = files.rows(snap.name, seg, snap.schema)
        dead = set(files.deletes(snap.name, seg).tolist())
        positions = pc.index_in(wanted, value_set=as_array(rows.column(key))).to_pylist()
        tables.append(rows)
        for i, p in enumerate(positions):
            if where[i] is None and p is not None and p not in dead:
                where[i] = (len(tables) - 1, p)
    if any(w is None for w in where):
        raise CorruptObject(f"full-text index of {snap.name} names rows that do not exist")
    located = np.array(where, dtype=np.int64).reshape(-1, 2)
    return tables, located[:, 0], located[:, 1]
