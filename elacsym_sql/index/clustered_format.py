"""The clustered vector index's file layout (index/clustered.py), built for ranged reads.

One immutable file per segment and vector column, little-endian, in four parts:

    header   64 bytes: magic, version, dim, rows, clusters, metric, rotation seed, the
             offsets of the next parts
    head     centroids float32 (clusters, dim); cluster boundaries uint64 (clusters + 1)
             in cluster order (cluster c holds entries starts[c] .. starts[c+1])
    codes    one fixed-size record per row, in cluster order: the row's position in the
             segment (uint32), the length of its residual from its centroid, the 1-bit
             code's dot with the rotated unit residual and the row's squared norm (float32
             each), then the code: one sign bit per dimension of the rotated residual
             (RaBitQ-like), dimension 8j + t in bit 7 - t of byte j
    vectors  the rows' full float32 vectors, in cluster order

A search reads the header and head once (one request), the code records of the clusters it
probes, then the full vectors of the best candidates (each all at once, ranges merged across
their smallest gaps within a padding budget: `coalesce`): three round trips. Clusters are
numbered along a path through their centroids, so the clusters a query probes lie in runs.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass

import numpy as np

from elacsym_sql.errors import CorruptObject

MAGIC = b"ELACIVF1"
VERSION = 1
HEADER = struct.Struct("<8sIIQIIQQQQ")  # 64 bytes
assert HEADER.size == 64
METRIC_CODES = {"cosine": 0, "l2": 1, "dot": 2}


def code_bytes(dim: int) -> int:
    return (dim + 7) // 8


def record_dtype(dim: int) -> np.dtype:
    """One row's entry in the codes part."""
    return np.dtype(
        [
            ("pos", "<u4"),
            ("rnorm", "<f4"),
            ("xdot", "<f4"),
            ("vsq", "<f4"),
            ("bits", "u1", code_bytes(dim)),
        ]
    )


def clusters_for(rows: int) -> int:
    """Clusters of a segment of `rows` rows: ~1.4 sqrt(rows) (512 at 133k, 1,400 at 1M),
    so that the head stays a small fraction of the vectors and k-means stays affordable."""
    return max(1, min(rows, round(1.4 * rows**0.5)))


def head_bytes(rows: int, dim: int) -> int:
    """The header and head of a file built by this version for `rows` rows (what the first
    read asks for; a file that says otherwise is read again at its own length)."""
    clusters = clusters_for(rows)
    return HEADER.size + clusters * dim * 4 + (clusters + 1) * 8


@dataclass(frozen=True)
class Header:
    dim: int
    rows: int
    clusters: int
    metric: str
    seed: int
    head_end: int  # end of the head part (= start of the codes part)
    codes_at: int
    vectors_at: int

    def pack(self) -> bytes:
        return HEADER.pack(
            MAGIC, VERSION, self.dim, self.rows, self.clusters, METRIC_CODES[self.metric],
            self.seed, self.head_end, self.codes_at, self.vectors_at,
        )  # fmt: skip

    @classmethod
    def unpack(cls, data: bytes, where: str) -> Header:
        if len(data) < HEADER.size:
            raise CorruptObject(f"clustered index {where} is too short")
        magic, version, dim, rows, clusters, metric, seed, head_end, codes_at, vectors_at = (
            HEADER.unpack_from(data)
        )
        if magic != MAGIC or version != VERSION:
            raise CorruptObject(f"{where} is not a clustered index of version {VERSION}")
        names = {v: k for k, v in METRIC_CODES.items()}
        if metric not in names:
            raise CorruptObject(f"clustered index {where} has an unknown metric {metric}")
        return cls(dim, rows, clusters, names[metric], seed, head_end, codes_at, vectors_at)


def rotation(dim: int, seed: int) -> np.ndarray:
    """The random orthogonal matrix the codes are taken in (not stored: made from the seed)."""
    gauss = np.random.default_rng(seed).standard_normal((dim, dim))
    q, r = np.linalg.qr(gauss)
    return (q * np.sign(np.diag(r))).astype(np.float32)


def coalesce(ranges: list[tuple[int, int]], padding: int) -> list[tuple[int, int]]:
    """Sorted (start, length) ranges merged across the smallest gaps between them, as many
    as fit in `padding` extra bytes in all: one request instead of several where the bytes
    between cost less than a request (S3 bills per request; a cold read's round trip
    waits for its slowest request, and more requests mean more waves of a connection
    pool). Overlapping or touching ranges are always merged."""
    ordered = sorted(ranges)
    if not ordered:
        return []
    starts = np.array([s for s, _ in ordered], np.int64)
    ends = np.maximum.accumulate(starts + np.array([n for _, n in ordered], np.int64))
    gaps = np.maximum(starts[1:] - ends[:-1], 0)
    by_size = np.argsort(gaps, kind="stable")
    merge = np.zeros(len(gaps), bool)
    merge[by_size[np.cumsum(gaps[by_size]) <= padding]] = True
    out: list[tuple[int, int]] = [ordered[0]]
    for i in range(1, len(ordered)):
        start, length = ordered[i]
        if merge[i - 1]:
            first, size = out[-1]
            out[-1] = (first, max(size, start + length - first))
        else:
            out.append((start, length))
    return out


def slice_of(chunks: dict[int, bytes], start: int, length: int) -> memoryview:
    """The bytes [start, start + length) out of fetched chunks keyed by their start (the
    dict in ascending order of starts, as `coalesce` made them)."""
    starts = list(chunks)
    first = starts[bisect.bisect_right(starts, start) - 1]
    data = chunks[first]
    assert first <= start and start + length <= first + len(data), (start, length)
    return memoryview(data)[start - first : start - first + length]
