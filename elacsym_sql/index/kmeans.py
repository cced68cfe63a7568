"""k-means in numpy, for the clustered vector index (index/clustered.py).

Lloyd's iterations on a random sample of the rows (the centroids of a sample are nearly those
of the whole set, at a fraction of the cost), then one pass assigning every row. Distances
are ranked by ``|c|^2 - 2 v.c`` in float32 blocks of rows, scored in the shared worker pool
with one BLAS thread each (index/threads.py); each cluster's sum is a bincount per dimension
(np.add.reduceat over sorted rows was ~10x slower). A cluster left empty restarts at the
sample row farthest from its centroid, so no centroid is wasted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from elacsym_sql.index.threads import pool

# Rows per assignment block: bounds the float32 score matrix (rows x clusters) of one worker.
_BLOCK_ROWS = 8_192


def by_blocks(rows: np.ndarray, work: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`work` applied to blocks of `rows` in the shared worker pool (one BLAS thread each:
    every core busy), the results concatenated."""
    if len(rows) <= _BLOCK_ROWS:
        return work(rows)
    starts = range(0, len(rows), _BLOCK_ROWS)
    return np.concatenate(list(pool().map(lambda s: work(rows[s : s + _BLOCK_ROWS]), starts)))


def nearest_centroid(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The index of each row's nearest centroid (squared l2), int32 (n,)."""
    c_term = np.einsum("ij,ij->i", centroids, centroids)

    def block(v: np.ndarray) -> np.ndarray:
        scores = v @ centroids.T
        scores *= -2.0
        scores += c_term
        return scores.argmin(axis=1).astype(np.int32)

    return by_blocks(vectors, block) if len(vectors) else np.empty(0, np.int32)


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
    columns = data.T.copy()  # one contiguous row per dimension, summed by bincount
    for _ in range(iterations):
        labels = nearest_centroid(data, centroids)
        counts = np.bincount(labels, minlength=clusters)
        filled = counts > 0
        sums = np.stack([np.bincount(labels, column, clusters) for column in columns], axis=1)
        centroids[filled] = (sums[filled] / counts[filled, None]).astype(np.float32)
        empty = np.flatnonzero(~filled)
        if len(empty):
            far = np.einsum("ij,ij->i", data - centroids[labels], data - centroids[labels])
            centroids[empty] = data[np.argsort(-far)[: len(empty)]]
    return centroids


def path_order(centroids: np.ndarray) -> np.ndarray:
    """An order of the centroids along a greedy nearest-neighbour path (from the first, each
    next is the nearest not yet visited): numbered in this order, the clusters a query
    probes (those nearest it) mostly have adjacent numbers, so their blocks in a file laid
    out by cluster number are read in a few runs."""
    count = len(centroids)
    if count < 3:
        return np.arange(count)
    norms = np.einsum("ij,ij->i", centroids, centroids)
    distance = norms[:, None] + norms[None, :] - 2 * (centroids @ centroids.T)
    visited = np.zeros(count, bool)
    order = np.empty(count, np.int64)
    at = 0
    for i in range(count):
        order[i] = at
        visited[at] = True
        if i + 1 < count:
            row = np.where(visited, np.inf, distance[at])
            at = int(row.argmin())
    return order
