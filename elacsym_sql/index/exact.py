"""Exact (brute-force) k-nearest-neighbour search with numpy, and the distance conventions.

`_distance` conventions (smaller is closer, as pgvector's operators):

- ``cosine``: 1 - cos(q, v); a zero vector has cos = 0 with everything (distance 1).
- ``l2``: Euclidean distance, sqrt(sum((q - v)^2)).
- ``dot``: -(q . v).

`exact_search` ranks all rows with one float32 matrix product per block of queries, keeps
the best ``k + margin`` candidates per query (argpartition), then recomputes those candidates'
distances directly in float64 and orders them by (distance, position). The result is the
brute-force answer: the float32 pass only has to keep the true top k among its candidates,
which the margin guarantees unless many rows tie with the k-th within float32 rounding.
"""

from __future__ import annotations

import numpy as np

from elacsym_sql.errors import InvalidParameterValue, InvalidVector
from elacsym_sql.index.threads import cores, pool
from elacsym_sql.schema import METRICS

# Extra candidates kept by the float32 pass, re-ranked in float64.
_MARGIN = 32
# Float32 score cells (queries x rows) computed at once; bounds the temporary memory (64 MB).
_BLOCK_CELLS = 1 << 24
# Rows per parallel part of an exact search (below it one thread answers: the hand-off costs
# more than it saves).
_PARALLEL_ROWS = 16_384
# Above this allowed fraction, score every row and mask; below it, gather the allowed rows.
_GATHER_FRACTION = 0.25


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise InvalidParameterValue(
            f"invalid metric {metric!r}", hint=f"metric is one of {', '.join(METRICS)}"
        )
    return metric


def check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k <= 0:
        raise InvalidParameterValue(f"k must be a positive integer, got {k!r}")
    return int(k)


def as_vectors(vectors: object, what: str = "vectors") -> np.ndarray:
    """`vectors` as a C-contiguous float32 (n, d) matrix (no copy when it already is one)."""
    arr = np.asarray(vectors)
    if arr.ndim != 2:
        raise InvalidVector(f"{what} must be a 2-D array (rows, dimensions), got shape {arr.shape}")
    if arr.dtype != np.float32 or not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr, dtype=np.float32)
    return arr


def as_queries(queries: object, dim: int) -> np.ndarray:
    """Queries as a C-contiguous float32 (m, dim) matrix; a 1-D vector is one query."""
    arr = np.asarray(queries)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != dim:
        got = arr.shape[-1] if arr.ndim in (1, 2) else arr.shape
        raise InvalidVector(f"query vector has {got} dimensions, expected {dim}")
    if arr.dtype != np.float32 or not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise InvalidVector("query vector contains NaN or infinity")
    return arr


def check_allowed(allowed: object, n: int) -> np.ndarray:
    arr = np.asarray(allowed)
    if arr.dtype != np.bool_ or arr.shape != (n,):
        raise InvalidParameterValue(
            f"allowed must be a boolean array of shape ({n},), got {arr.dtype} {arr.shape}"
        )
    return arr


def vector_norms(vectors: np.ndarray) -> np.ndarray:
    """Float32 L2 norms of the rows, reusable as `exact_search(..., norms=)` for cosine and l2."""
    v = np.asarray(vectors, dtype=np.float32)
    return np.sqrt(np.vecdot(v, v))


def exact_search(
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int,
    metric: str,
    allowed: np.ndarray | None = None,
    *,
    norms: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The exact k nearest rows of `vectors` (n, d) to each query in `queries` (m, d).

    Returns (positions int64 (m, k'), distances float32 (m, k')), each row ordered by
    (distance, position), where k' = min(k, number of allowed rows). `allowed` is an optional
    boolean mask of shape (n,). `norms` (from `vector_norms(vectors)`) saves one pass over
    `vectors` for cosine and l2 when the same rows are searched repeatedly.
    """
    check_metric(metric)
    k = check_k(k)
    vecs = as_vectors(vectors)
    n, dim = vecs.shape
    q = as_queries(queries, dim)
    m = q.shape[0]
    if norms is not None:
        norms = np.asarray(norms, dtype=np.float32)
        if norms.shape != (n,):
            raise InvalidParameterValue(f"norms must have shape ({n},), got {norms.shape}")

    rows: np.ndarray | None = None  # positions of the scored rows (None: all rows)
    mask: np.ndarray | None = None  # rows to exclude after scoring every row
    if allowed is not None:
        allowed = check_allowed(allowed, n)
        count = int(np.count_nonzero(allowed))
        if count == 0:
            return np.empty((m, 0), np.int64), np.empty((m, 0), np.float32)
        if count < n:
            if count <= _GATHER_FRACTION * n:
                rows = np.flatnonzero(allowed)
            else:
                mask = ~allowed
        n_allowed = count
    else:
        n_allowed = n
    if n_allowed == 0:
        return np.empty((m, 0), np.int64), np.empty((m, 0), np.float32)
    kk = min(k, n_allowed)

    sub = vecs if rows is None else vecs[rows]
    sub_norms = None
    if metric != "dot" and norms is None:
        sub_norms = vector_norms(sub)
    elif metric != "dot":
        sub_norms = norms if rows is None else norms[rows]
    # Row term of the float32 ranking key: key = row_term - scale * (q . v), smaller is closer.
    if metric == "l2":
        row_term, scale = sub_norms * sub_norms, np.float32(2.0)
    elif metric == "cosine":
        with np.errstate(divide="ignore"):
            inv = np.where(sub_norms > 0, 1.0 / sub_norms, 0.0).astype(np.float32)
        row_term, scale = None, inv
    else:
        row_term, scale = None, np.float32(1.0)

    n_sub = sub.shape[0]
    cand_n = min(n_sub, kk + _MARGIN)
    out_pos = np.empty((m, kk), np.int64)
    out_dist = np.empty((m, kk), np.float32)
    # Row ranges scored in parallel (one BLAS thread each, threads.py); each keeps its own
    # best cand_n, so the union holds the best cand_n of all rows.
    parts = min(cores(), max(1, n_sub // _PARALLEL_ROWS))
    bounds = np.linspace(0, n_sub, parts + 1).astype(np.int64)
    ranges = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
    block = max(1, _BLOCK_CELLS // max(n_sub, 1))
    for start in range(0, m, block):
        qb = q[start : start + block]

        def candidates(lo_hi: tuple[int, int], qb: np.ndarray = qb) -> np.ndarray:
            lo, hi = lo_hi
            key = qb @ sub[lo:hi].T  # (b, hi - lo) float32
            key *= -(scale if np.ndim(scale) == 0 else scale[lo:hi])
            if row_term is not None:
                key += row_term[lo:hi]
            if mask is not None:
                key[:, mask[lo:hi]] = np.inf
            c = min(cand_n, hi - lo)
            if c < hi - lo:
                return np.argpartition(key, c - 1, axis=1)[:, :c] + lo
            return np.broadcast_to(np.arange(lo, hi), (qb.shape[0], hi - lo))

        if parts > 1:
            cand = np.hstack(list(pool().map(candidates, ranges)))
        else:
            cand = candidates(ranges[0])
        pos, dist = _rerank(sub, qb, cand, metric, kk, rows, mask)
        out_pos[start : start + block] = pos
        out_dist[start : start + block] = dist
    return out_pos, out_dist


def _rerank(
    sub: np.ndarray,
    qb: np.ndarray,
    cand: np.ndarray,
    metric: str,
    kk: int,
    rows: np.ndarray | None,
    mask: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact float64 distances of the candidates; the best kk per query by (distance, position)."""
    b, c = cand.shape
    pos_out = np.empty((b, kk), np.int64)
    dist_out = np.empty((b, kk), np.float32)
    # Bound the float64 gather (b' x c x d) to ~32 MB per step.
    step = max(1, (1 << 22) // max(c * sub.shape[1], 1))
    for s in range(0, b, step):
        cs = cand[s : s + step]
        cv = sub[cs].astype(np.float64)  # (b', c, d)
        qv = qb[s : s + step].astype(np.float64)[:, None, :]
        dist = distances(cv, qv, metric)
        positions = cs if rows is None else rows[cs]
        if mask is not None:
            dist = np.where(mask[positions], np.inf, dist)
        order = np.lexsort((positions, dist), axis=1)[:, :kk]
        pos_out[s : s + step] = np.take_along_axis(positions, order, axis=1)
        dist_out[s : s + step] = np.take_along_axis(dist, order, axis=1)
    return pos_out, dist_out


def distances(vectors: np.ndarray, queries: np.ndarray, metric: str) -> np.ndarray:
    """Distances between broadcastable arrays of vectors (last axis = dimensions), in float64.

    The reference definition of each metric's `_distance`; e.g. `distances(v, q, "l2")` for
    v (n, d) and q (d,) gives the n distances.
    """
    v = np.asarray(vectors, dtype=np.float64)
    q = np.asarray(queries, dtype=np.float64)
    if metric == "l2":
        diff = v - q
        return np.sqrt(np.einsum("...i,...i->...", diff, diff))
    dot = np.einsum("...i,...i->...", v, q)
    if metric == "dot":
        return -dot
    if metric == "cosine":
        nv = np.sqrt(np.einsum("...i,...i->...", v, v))
        nq = np.sqrt(np.einsum("...i,...i->...", q, q))
        denom = nv * nq
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = np.where(denom > 0, dot / np.where(denom > 0, denom, 1.0), 0.0)
        return 1.0 - cos
    check_metric(metric)
    raise AssertionError(metric)  # pragma: no cover - check_metric raised
