"""Indexes over a segment's rows: vector (hnswlib HNSW, exact numpy search).

This layer imports only `elacsym_sql.errors` and `elacsym_sql.schema`.
"""

from elacsym_sql.index.exact import distances, exact_search, vector_norms
from elacsym_sql.index.vector import (
    DEFAULT_EF,
    DEFAULT_EF_CONSTRUCTION,
    DEFAULT_M,
    EXACT_FALLBACK_FACTOR,
    EXACT_FALLBACK_ROWS,
    SMALL_SEGMENT_ROWS,
    UNCALIBRATED_EF,
    HnswIndex,
    build_hnsw,
    build_hnsw_file,
)

__all__ = [
    "DEFAULT_EF",
    "DEFAULT_EF_CONSTRUCTION",
    "DEFAULT_M",
    "EXACT_FALLBACK_FACTOR",
    "EXACT_FALLBACK_ROWS",
    "SMALL_SEGMENT_ROWS",
    "UNCALIBRATED_EF",
    "HnswIndex",
    "build_hnsw",
    "build_hnsw_file",
    "distances",
    "exact_search",
    "vector_norms",
]
