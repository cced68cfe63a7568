"""Vector search over a segment with a clustered index (decision 0081), without loading it.

Only the index's head stays in memory; a search reads the code blocks of the clusters it
probes (kept in the memory cache afterwards), the full vectors of its best candidates, and
then the rows it returns, by ranged reads of the segment's Parquet row groups (the footer
read once and kept). Deleted rows are excluded by position inside the index search; rows
superseded by the unfolded tail are found from the keys of the rows read, and a search that
lost any to the tail runs again with them excluded up front (from the segment's keys).
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..catalog import SegmentEntry
from ..index.calibrate import Curve, ef_for
from ..index.clustered import DEFAULT_NPROBE, ClusteredIndex
from ..schema import Column
from .namespace import Snapshot
from .round_trips import started
from .segments import SegmentFiles, with_vectors

# Searches of up to this many queries read their candidates' rows ahead (a batch's
# candidates would span most row groups).
_READ_AHEAD_QUERIES = 4


@dataclass(frozen=True)
class ColdSegment:
    """A segment searched through its clustered index."""

    seg: SegmentEntry
    index: ClusteredIndex
    curve: Curve  # recall at each number of probed clusters, measured when it was built
    deleted: np.ndarray  # positions of deleted rows

    def nprobe(self, target: float) -> int | None:
        """The clusters to probe to reach `target`; None: search the segment exactly."""
        if target >= 1:
            return None
        return ef_for(self.curve, target) if self.curve else DEFAULT_NPROBE

    def live(self) -> np.ndarray | None:
        """Rows not deleted (None when none are)."""
        if not len(self.deleted):
            return None
        mask = np.ones(self.seg.rows, bool)
        mask[self.deleted] = False
        return mask


@dataclass(frozen=True)
class Found:
    """One cold segment's hits: `rows` read for them, positions (m, k) into `rows` (-1 for
    none) and distances."""

    rows: pa.Table
    keys: pa.Array
    positions: np.ndarray
    distances: np.ndarray


def search_cold(
    snap: Snapshot,
    files: SegmentFiles,
    column: Column,
    cold: ColdSegment,
    queries: np.ndarray,
    k: int,
    nprobe: int,
    allowed: np.ndarray | None,
) -> Found:
    """The k nearest live rows of the segment to each query, with their rows read.
    `allowed`: a filter's mask over the segment's rows (deleted rows already excluded)."""
    mask = cold.live() if allowed is None else allowed
    found = _search(snap, files, column, cold, queries, k, nprobe, mask)
    hidden = snap.tail.keys
    if len(hidden) and len(found.keys):
        superseded = pc.is_in(found.keys, value_set=hidden).to_numpy(zero_copy_only=False)
        if superseded.any():  # exclude every row the tail supersedes, and search again
            keys = files.keys(snap.name, cold.seg, snap.schema.primary_key)
            visible = ~pc.is_in(keys, value_set=hidden).to_numpy(zero_copy_only=False)
            mask = visible if mask is None else mask & visible
            found = _search(snap, files, column, cold, queries, k, nprobe, mask)
    return found


def _search(
    snap: Snapshot,
    files: SegmentFiles,
    column: Column,
    cold: ColdSegment,
    queries: np.ndarray,
    k: int,
    nprobe: int,
    mask: np.ndarray | None,
) -> Found:
    cache_key = ("ivf-block", snap.name, cold.seg.id, column.name)
    storage = snap.schema.arrow_schema
    others = [name for name in storage.names if name != column.name]
    reading: list[Future[dict[int, bytes]]] = []

    def read_ahead(candidates: np.ndarray) -> None:
        """Read the candidates' rows while their vectors are read: one round trip for both
        (rows of a query's best candidates lie in few row groups: the segment is stored in
        cluster order). Row groups in the memory cache are not read again."""
        groups = files.missing_row_groups(snap.name, cold.seg, candidates, others)
        if groups:
            reading.append(
                started(lambda sent: files.row_chunks(snap.name, cold.seg, groups, others, sent))
            )

    pos, dist, vecs = cold.index.search(
        queries, k, nprobe, mask, cache=files.memory, cache_key=cache_key,
        on_candidates=read_ahead if len(queries) <= _READ_AHEAD_QUERIES else None,
    )  # fmt: skip
    ahead = [work.result() for work in reading]
    if not cold.index.is_local:
        files.searched_remotely(snap.name, cold.seg, column, cold.index)
    hit = pos >= 0
    if not hit.any():  # a filter admitting none of its rows
        empty = storage.empty_table()
        return Found(empty, empty.column(snap.schema.primary_key).combine_chunks(), pos, dist)
    wanted, first = np.unique(pos[hit], return_index=True)
    rows = files.rows_at(snap.name, cold.seg, wanted, others, ahead[0] if ahead else None)
    table = with_vectors(rows, storage, column, vecs[hit][first])
    local = np.full(pos.shape, -1, np.int64)
    local[hit] = np.searchsorted(wanted, pos[hit])
    keys = table.column(snap.schema.primary_key).combine_chunks()
    return Found(table, keys, local, dist)
