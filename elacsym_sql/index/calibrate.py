"""Calibrating an index's search breadth (HNSW ef, clustered nprobe) against a recall target.

Recall at a given ef depends on the data and, above all, on the queries: vectors drawn from
the corpus find their neighbours at a small ef, queries from elsewhere (what users send)
need a much larger one (docs/decisions/0063-recall-target.md). So each segment's index is
measured once, when it is built: recall@10 against exact search at every ef of `EF_LADDER`,
with held-out-like queries - recent real queries when enough were seen, else `probe_queries`
(stored vectors moved away from the corpus by random noise). A search then takes the
smallest ef whose measured recall reaches its target (`ef_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from elacsym_sql.index.exact import exact_search, vector_norms
from elacsym_sql.index.vector import HnswIndex

EF_LADDER = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
CALIBRATION_QUERIES = 200
CALIBRATION_K = 10
# Noise added to a stored vector to make a probe query, as a multiple of the vector's norm.
# Measured against queries from a source left out of the index (decision 0063): at 1.0 and
# 1.5 the probes are still easier than those queries at small ef, at 2.0 they are harder.
PROBE_NOISE = 2.0
# Recall the ladder stops at: a larger ef cannot be told apart from it with 200 queries.
_ENOUGH = 0.999

Curve = tuple[tuple[int, float], ...]


def probe_queries(vectors: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """`count` held-out-like queries: random stored vectors plus isotropic noise of
    PROBE_NOISE times their norm (zero vectors are skipped)."""
    rng = np.random.default_rng(seed)
    norms = vector_norms(vectors)
    usable = np.flatnonzero(norms > 0)
    if not len(usable):
        return np.empty((0, vectors.shape[1]), np.float32)
    picked = rng.choice(usable, size=min(count, len(usable)), replace=False)
    base = vectors[picked].astype(np.float32)
    noise = rng.standard_normal(base.shape).astype(np.float32)
    noise *= (PROBE_NOISE * norms[picked] / np.maximum(vector_norms(noise), 1e-12))[:, None]
    return base + noise


def calibrate(
    index: HnswIndex, vectors: np.ndarray, queries: np.ndarray, k: int = CALIBRATION_K
) -> Curve:
    """Recall@k of `index` (built over `vectors`) against exact search, at each ef of the
    ladder up to the first that reaches _ENOUGH."""

    def search(q: np.ndarray, kk: int, ef: int) -> np.ndarray:
        return index.search(q, kk, ef=ef, exact=False, num_threads=-1)[0]

    return calibrate_breadth(search, EF_LADDER, vectors, queries, index.metric, k)


def calibrate_breadth(
    search: Callable[[np.ndarray, int, int], np.ndarray],
    ladder: Sequence[int],
    vectors: np.ndarray,
    queries: np.ndarray,
    metric: str,
    k: int = CALIBRATION_K,
) -> Curve:
    """Recall@k of `search(queries, k, breadth)` (row positions) against exact search over
    `vectors`, at each breadth of `ladder` (an HNSW ef, a clustered index's probed clusters)
    up to the first that reaches _ENOUGH."""
    if not len(queries) or not len(vectors):
        return ()
    kk = min(k, len(vectors))
    truth, _ = exact_search(vectors, queries, kk, metric)
    curve = []
    for breadth in ladder:
        found = search(queries, kk, breadth)
        hits = sum(len(np.intersect1d(f, t)) for f, t in zip(found, truth, strict=True))
        recall = round(hits / truth.size, 4)
        curve.append((breadth, recall))
        if recall >= _ENOUGH:
            break
    return tuple(curve)


def ef_for(curve: Curve, target: float) -> int | None:
    """The smallest calibrated ef whose recall reaches `target`; None when none does (the
    caller searches exactly)."""
    for ef, recall in curve:
        if recall >= target:
            return int(ef)
    return None
