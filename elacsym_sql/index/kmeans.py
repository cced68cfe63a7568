"""k-means in numpy, for the clustered vector index (index/clustered.py).

Lloyd's iterations on a random sample of the rows (the centroids of a sample are nearly those
of the whole set, at a fraction of the cost), then one pass assigning every row. Distances
are ranked by ``|c|^2 - 2 v.c`` in float32 blocks of rows, scored in the shared worker pool
with one BLAS thread each (index/threads.py). A cluster left empty restarts at the sample
row farthest from its centroid, so no centroid is wasted.
"""

from __future__ import annotations

import numpy as np

from elacsym_sql.index.threads import pool

# Rows per assignment block: bounds the float32 score matrix (rows x clusters) of one worker.
_BLOCK_ROWS = 8_192


def nearest_centroid(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The index of each row's nearest centroid (squared l2), int32 (n,)."""
    c_term = np.einsum("ij,ij->i", centroids, centroids)
    starts = range(0, len(vectors), _BLOCK_ROWS)

    def block(start: int) -> np.ndarray:
        v = vectors[start : start + _BLOCK_ROWS]
        scores = v @ centroids.T
        scores *= -2.0
        scores += c_term
        return scores.argmin(axis=1).astype(np.int32)

    parts = list(pool().map(block, starts)) if len(vectors) > _BLOCK_ROWS else [block(0)]
    return np.concatenate(parts) if parts else np.empty(0, np.int32)


def kmeans(
    vectors: np.ndarray,
    clusters: int,
    *,
    sample: int = 65_536,
    iterations: int = 12,
    seed: int = 0,
) -> np.ndarray:
    """`clusters` centroids (float32 (clusters, d)) of the rows of `vectors` (n, d)."""
    n = len(vectors)
    clusters = max(1, min(clusters, n))
    rng = np.random.default_rng(seed)
    picked = rng.choice(n, size=min(n, max(sample, clusters)), replace=False)
    data = np.ascontiguousarray(vectors[np.sort(picked)], dtype=np.float32)
    centroids = data[rng.choice(len(data), size=clusters, replace=False)].copy()
    for _ in range(iterations):
        labels = nearest_centroid(data, centroids)
        counts = np.bincount(labels, minlength=clusters)
        filled = counts > 0
        order = np.argsort(labels, kind="stable")
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[filled]
        sums = np.add.reduceat(data[order], starts, axis=0, dtype=np.float64)
        centroids[filled] = (sums / counts[filled, None]).astype(np.float32)
        empty = np.flatnonzero(~filled)
        if len(empty):
            far = np.einsum("ij,ij->i", data - centroids[labels], data - centroids[labels])
            centroids[empty] = data[np.argsort(-far)[: len(empty)]]
    return centroids
