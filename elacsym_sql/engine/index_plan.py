"""Which vector index a new segment gets (decision 0081): the planner and its override.

- exact: no index file; segments under SMALL_SEGMENT_ROWS rows are searched exactly (as
  fast, and exact), whatever the namespace asks.
- hnsw: a graph in memory, the fastest warm search, for segments that fit in memory.
- clustered: index/clustered.py, read by range, for segments too large to keep in memory
  beside others: those whose vectors take more than 1/CLUSTERED_SHARE of the memory cache.
The namespace option `vector_index` (auto, exact, hnsw, clustered) overrides the choice for
segments of SMALL_SEGMENT_ROWS rows or more.
"""

from __future__ import annotations

from ..index import SMALL_SEGMENT_ROWS

# A segment whose float32 vectors exceed this share of the memory cache is clustered: an
# HNSW graph of it (vectors + ~0.15x links) would crowd out every other segment.
CLUSTERED_SHARE = 8


def index_kind(rows: int, dim: int, option: str, memory_bytes: int) -> str:
    """The index kind ("exact", "hnsw" or "clustered") of a new segment of `rows` rows."""
    if rows < SMALL_SEGMENT_ROWS:
        return "exact"
    if option != "auto":
        return option
    return "clustered" if rows * dim * 4 > memory_bytes // CLUSTERED_SHARE else "hnsw"
