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
from .segments import SegmentFiles

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
    """Where each key's live row is: (tables, table of each key, position in it). A segment
    searched without loading it (clustered) gives a table of just the rows wanted."""
    key = snap.schema.primary_key
    wanted = pa.array(keys, snap.schema.arrow_schema.field(key).type)
    tables = [snap.tail.rows]
    in_tail = pc.index_in(wanted, value_set=snap.tail.rows.column(key).combine_chunks())
    table_of = np.where(in_tail.is_valid().to_numpy(zero_copy_only=False), 0, -1)
    position = in_tail.fill_null(-1).to_numpy().astype(np.int64)
    for seg in snap.manifest.segments:  # the tail's rows, found first, hide older copies
        missing = np.flatnonzero(table_of < 0)
        if not len(missing):
            break
        check_interrupt()
        at = files.key_locator(snap.name, seg, key).find(wanted.take(pa.array(missing)))
        found = at >= 0
        found[found] = ~np.isin(at[found], files.deletes(snap.name, seg))
        if not found.any():
            continue
        if files.is_clustered(seg):
            tables.append(files.clustered_rows(snap.name, seg, snap.schema, at[found]))
            position[missing[found]] = np.arange(np.count_nonzero(found))
        else:
            tables.append(files.rows(snap.name, seg, snap.schema))
            position[missing[found]] = at[found]
        table_of[missing[found]] = len(tables) - 1
    if (table_of < 0).any():
        raise CorruptObject(f"full-text index of {snap.name} names rows that do not exist")
    return tables, table_of, position
