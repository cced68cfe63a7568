"""The search functions as every front door shows them: their parameters, defaults and the
score columns each adds to the namespace's columns.

One statement of them serves every front door: the SQL table functions are built from it
(and `pg_proc` lists those), the direct path recognises its parameters, the HTTP API
takes its bounds and defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from .fusion import DEFAULT_ALPHA, DEFAULT_RRF_K, TEXT_RANK, VECTOR_RANK
from .search import DISTANCE, SCORE

MAX_K = 10_000  # the most rows one search returns (the HTTP API's top_k bound too)
DEFAULT_MODE = "or"
DEFAULT_FUSION = "rrf"
DEFAULT_WEIGHTS = (1.0, 1.0)


@dataclass(frozen=True)
class Param:
    name: str
    sql_type: str
    default: str | None = None  # SQL text of the default; None: a required, positional one


@dataclass(frozen=True)
class ScoreColumn:
    name: str
    sql_type: str
    arrow_type: pa.DataType


@dataclass(frozen=True)
class SearchFunction:
    name: str
    params: tuple[Param, ...]
    scores: tuple[ScoreColumn, ...]

    @property
    def required(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.default is None)


_K = Param("k", "BIGINT")
_FILTER = Param("filter", "VARCHAR", "NULL")
_COLUMN = Param("column", "VARCHAR", "NULL")
_COLUMNS = Param("columns", "VARCHAR", "NULL")
_MODE = Param("mode", "VARCHAR", f"'{DEFAULT_MODE}'")
_EF = Param("ef", "BIGINT", "NULL")
_RECALL_TARGET = Param("recall_target", "DOUBLE", "NULL")  # NULL: the namespace's option

VECTOR_SEARCH = SearchFunction(
    "vector_search",
    (
        Param("q", "FLOAT[]"),
        _K,
        _COLUMN,
        _FILTER,
        _EF,
        Param("exact", "BOOLEAN", "false"),
        _RECALL_TARGET,
    ),
    (ScoreColumn(DISTANCE, "FLOAT", pa.float32()),),
)
TEXT_SEARCH = SearchFunction(
    "text_search",
    (Param("query", "VARCHAR"), _K, _COLUMNS, _FILTER, _MODE),
    (ScoreColumn(SCORE, "FLOAT", pa.float32()),),
)
HYBRID_SEARCH = SearchFunction(
    "hybrid_search",
    (
        Param("q", "FLOAT[]"),
        Param("query", "VARCHAR"),
        _K,
        Param("fusion", "VARCHAR", f"'{DEFAULT_FUSION}'"),
        Param("alpha", "DOUBLE", str(DEFAULT_ALPHA)),
        Param("rrf_k", "DOUBLE", str(DEFAULT_RRF_K)),
        Param("weights", "DOUBLE[]", str(list(DEFAULT_WEIGHTS))),
        Param("window", "BIGINT", "NULL"),
        _FILTER,
        _COLUMN,
        _COLUMNS,
        _MODE,
        _EF,
        _RECALL_TARGET,
    ),
    (
        ScoreColumn(SCORE, "DOUBLE", pa.float64()),
        ScoreColumn(VECTOR_RANK, "BIGINT", pa.int64()),
        ScoreColumn(TEXT_RANK, "BIGINT", pa.int64()),
    ),
)
SEARCH_FUNCTIONS = {f.name: f for f in (VECTOR_SEARCH, TEXT_SEARCH, HYBRID_SEARCH)}
