"""Hybrid search: fusing a vector search and a text search of the same queries.

- fusion 'rrf' (default): score = sum over branches of weight / (rrf_k + rank).
- fusion 'minmax': each branch's candidates are scaled to [0, 1] within the branch
  (vector (max_d - d) / (max_d - min_d), text (s - min_s) / (max_s - min_s), 1.0 when all
  of a branch's candidates tie, 0 for a row the branch did not return), then
  score = alpha * weights[0] * vector part + (1 - alpha) * weights[1] * text part.

Ranks count from 1 within each branch (ties by key, as the searches order them); fused
rows are ordered by score, descending, then key. One implementation serves the SQL
function and the direct path, so both give the same rows and scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..errors import InvalidParameterValue
from .search import DISTANCE, SCORE, SearchResult, gather

FUSIONS = ("rrf", "minmax")
# Default weight of the vector branch under fusion 'minmax'. Chosen on the SciFact TRAIN
# qrels only (bench/hybrid.py sweeps alpha 0, 0.05, ..., 1 at the default window and keeps
# the best train nDCG@10); the test qrels took no part in the choice.
DEFAULT_ALPHA = 0.45
DEFAULT_RRF_K = 60.0
VECTOR_RANK = "_vector_rank"
TEXT_RANK = "_text_rank"


@dataclass(frozen=True)
class Fusion:
    method: str = "rrf"
    alpha: float = DEFAULT_ALPHA
    rrf_k: float = DEFAULT_RRF_K
    weights: tuple[float, float] = (1.0, 1.0)

    @classmethod
    def checked(
        cls,
        method: str | None,
        alpha: float | None,
        rrf_k: float | None,
        weights: Sequence[float | None] | None,
    ) -> Fusion:
        name = method.lower() if isinstance(method, str) else None
        if name not in FUSIONS:
            shown = "NULL" if method is None else f"'{method}'"
            raise InvalidParameterValue(f"fusion must be 'rrf' or 'minmax', not {shown}")
        if alpha is None or not 0 <= alpha <= 1:  # NaN fails both comparisons
            raise InvalidParameterValue(f"alpha must be between 0 and 1, not {_sql(alpha)}")
        if rrf_k is None or not rrf_k >= 0:
            raise InvalidParameterValue(f"rrf_k must be zero or more, not {_sql(rrf_k)}")
        if weights is None or len(weights) != 2 or any(w is None for w in weights):
            raise InvalidParameterValue("weights must be two numbers: [vector, text]")
        pair = (float(weights[0]), float(weights[1]))  # type: ignore[arg-type]
        return cls(name, float(alpha), float(rrf_k), pair)


def _sql(value: float | None) -> str:
    return "NULL" if value is None else format(value, "g")


def default_window(k: int) -> int:
    return max(k, 100)


def fuse(vector: SearchResult, text: SearchResult, key: str, k: int, how: Fusion) -> SearchResult:
    """The k best fused rows of each query, with `_score` and both branch ranks."""
    tables = [vector.rows.drop_columns([DISTANCE]), text.rows.drop_columns([SCORE])]
    branches = [
        (vector.rows.column(key).to_pylist(), vector.offsets, _parts(vector, DISTANCE, True)),
        (text.rows.column(key).to_pylist(), text.offsets, _parts(text, SCORE, False)),
    ]
    table_of, position, scores = [], [], []
    ranks: list[list[int | None]] = [[], []]
    offsets = np.zeros(len(vector.offsets), dtype=np.int32)
    for q in range(len(offsets) - 1):
        found: dict[object, list] = {}  # key -> [position, rank, part] per branch
        for b, (keys, starts, parts) in enumerate(branches):
            for rank, p in enumerate(range(starts[q], starts[q + 1]), start=1):
                entry = found.setdefault(keys[p], [None, None, None, None, None, None])
                entry[3 * b : 3 * b + 3] = p, rank, parts[p]
        scored = sorted(
            ((-_score(how, e), row_key, e) for row_key, e in found.items()),
            key=lambda s: (s[0], s[1]),
        )[:k]
        for negative, _, e in scored:
            table_of.append(0 if e[0] is not None else 1)
            position.append(e[0] if e[0] is not None else e[3])
            scores.append(-negative)
            ranks[0].append(e[1])
            ranks[1].append(e[4])
        offsets[q + 1] = len(scores)
    rows = gather(tables, np.array(table_of, dtype=np.int64), np.array(position, dtype=np.int64))
    rows = rows.append_column(SCORE, pa.array(scores, pa.float64()))
    rows = rows.append_column(VECTOR_RANK, pa.array(ranks[0], pa.int64()))
    return SearchResult(rows.append_column(TEXT_RANK, pa.array(ranks[1], pa.int64())), offsets)


def _parts(result: SearchResult, column: str, smaller_is_better: bool) -> np.ndarray:
    """Each candidate's min-max part within its own query's candidates."""
    values = result.rows.column(column).to_numpy().astype(np.float64)
    parts = np.ones(len(values))
    for q in range(len(result.offsets) - 1):
        a, b = result.offsets[q], result.offsets[q + 1]
        if b > a:
            lo, hi = values[a:b].min(), values[a:b].max()
            if hi > lo:
                above_worst = hi - values[a:b] if smaller_is_better else values[a:b] - lo
                parts[a:b] = above_worst / (hi - lo)
    return parts


def _score(how: Fusion, entry: list) -> float:
    _, v_rank, v_part, _, t_rank, t_part = entry
    w_vector, w_text = how.weights
    if how.method == "minmax":
        return how.alpha * w_vector * (v_part or 0.0) + (1 - how.alpha) * w_text * (t_part or 0.0)
    vector_part = w_vector / (how.rrf_k + v_rank) if v_rank is not None else 0.0
    text_part = w_text / (how.rrf_k + t_rank) if t_rank is not None else 0.0
    return vector_part + text_part
