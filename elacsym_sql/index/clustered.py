"""The clustered vector index (IVF-style) for segments larger than memory or cold on S3.

Rows are clustered by k-means (index/kmeans.py); each row is stored twice in the file
(layout: clustered_format.py): as a 1-bit code of its residual from its centroid, in a
random rotation (RaBitQ-like: 56 bytes a row at 384 dimensions, against 1,536 for the float
vector), and as its full vector. A search ranks the centroids, scans the codes of the
`nprobe` nearest clusters with an estimate of each row's distance, then reranks the best
`RERANK` candidates exactly from their full vectors. Nothing is held in memory but the head
(centroids); every other byte is read by range when a search needs it, through `read`:

    read(ranges) -> the bytes of each (start, length) range, fetched together (one round trip)

The estimate (for the residual r = v - c, its unit direction u, the code x = sign(P u)/sqrt(d)
in the rotation P): <y, u> ~ <x, P y> / <x, P u> for any y, so <q, v> = <q, c> + |r| <q, u>
is estimated from the code alone; l2 and cosine follow from it (cosine on unit vectors).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from elacsym_sql.index.clustered_format import (
    HEADER,
    Header,
    clusters_for,
    coalesce,
    head_bytes,
    record_dtype,
    rotation,
    slice_of,
)
from elacsym_sql.index.exact import as_queries, as_vectors, check_allowed, check_k, distances
from elacsym_sql.index.kmeans import kmeans, nearest_centroid

ReadRanges = Callable[[Sequence[tuple[int, int]]], list[bytes]]

# Candidates reranked exactly per query (at least 2 k). Measured on the 133k sentence vectors
# with out-of-corpus queries: the 1-bit estimate keeps the true top 10 within the best 100
# (recall 0.983 at 128 clusters of 512, against 0.957 with 40 candidates).
RERANK = 100
# ... and at least this many per probed cluster: queries far from every row (calibration's
# probes in 128-d) gain recall from a deeper rerank long after more clusters stop helping
# (probing 96 of 242: 0.948 with 100 candidates, 0.994 with 400).
RERANK_PER_PROBE = 4
# Clusters probed when no calibration says otherwise.
DEFAULT_NPROBE = 64
# Row b of this (256, 8) matrix: the bits of byte value b, most significant first (packbits).
_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.float32)
# Clusters probed at each calibration step (index/calibrate.py), up to every cluster.
_NPROBE_LADDER = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536)


def nprobe_ladder(clusters: int) -> tuple[int, ...]:
    """The calibration ladder for an index of `clusters` clusters, ending at all of them."""
    return (*(p for p in _NPROBE_LADDER if p < clusters), clusters)


# Ranges closer than this are read as one request (the bytes between cost less than a GET;
# 16 kB read most of the codes between the probed clusters: 9.9% of the vector bytes of the
# 128-d test set instead of 5.2%).
_GAP_BYTES = 4 << 10


class BlockCache(Protocol):
    """Where decoded code blocks are kept between searches (the engine's memory cache)."""

    def peek(self, key: Hashable) -> object | None: ...

    def put(self, key: Hashable, value: object) -> None: ...


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    return x / np.where(norms > 0, norms, 1.0)[:, None].astype(np.float32)


def cluster(
    vectors: np.ndarray, metric: str, *, clusters: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """k-means over `vectors` (n, d) in the metric's space: (centroids, each row's cluster)."""
    vecs = as_vectors(vectors)
    space = _unit(vecs) if metric == "cosine" else vecs
    count = clusters or clusters_for(len(vecs))
    centroids = kmeans(space, count, sample=max(32_768, 64 * count), seed=seed)
    labels = nearest_centroid(space, centroids) if len(vecs) else np.empty(0, np.int32)
    return centroids, labels


def encode_clustered(
    vectors: np.ndarray,
    positions: np.ndarray,
    rows: int,
    clustering: tuple[np.ndarray, np.ndarray],
    metric: str,
    seed: int = 0,
) -> bytes:
    """The index file over `vectors` (n, d), the rows at `positions` of a segment of `rows`
    rows (rows without a vector are left out), clustered as `cluster` found."""
    centroids, labels = clustering
    vecs = as_vectors(vectors)
    n, dim = vecs.shape
    count = len(centroids)
    space = _unit(vecs) if metric == "cosine" else vecs
    order = np.argsort(labels, kind="stable")
    starts = np.zeros(count + 1, np.uint64)
    np.cumsum(np.bincount(labels, minlength=count), out=starts[1:])
    residual = space[order] - centroids[labels[order]]
    rotated = _unit(residual) @ rotation(dim, seed).T
    records = np.zeros(n, record_dtype(dim))
    records["pos"] = np.asarray(positions)[order]
    records["rnorm"] = np.sqrt(np.einsum("ij,ij->i", residual, residual))
    records["xdot"] = np.abs(rotated).sum(axis=1) / np.sqrt(dim)
    records["vsq"] = np.einsum("ij,ij->i", space[order], space[order])
    records["bits"] = np.packbits(rotated > 0, axis=1)
    head_end = codes_at = HEADER.size + count * dim * 4 + (count + 1) * 8
    vectors_at = codes_at + records.nbytes
    header = Header(dim, rows, count, metric, seed, head_end, codes_at, vectors_at)
    parts = [header.pack(), centroids.astype("<f4").tobytes(), starts.tobytes()]
    parts += [records.tobytes(), vecs[order].astype("<f4").tobytes()]
    return b"".join(parts)


def build_clustered(
    vectors: np.ndarray, metric: str, *, clusters: int | None = None, seed: int = 0
) -> bytes:
    """The index file over every row of `vectors` (n, d)."""
    clustering = cluster(vectors, metric, clusters=clusters, seed=seed)
    n = len(vectors)
    return encode_clustered(vectors, np.arange(n), n, clustering, metric, seed)


@dataclass(frozen=True)
class _Block:
    """A cluster's code records, decoded into one array per field."""

    pos: np.ndarray
    rnorm: np.ndarray
    xdot: np.ndarray
    vsq: np.ndarray
    bits: np.ndarray

    @classmethod
    def decode(cls, data: memoryview, dtype: np.dtype) -> _Block:
        rec = np.frombuffer(data, dtype)
        return cls(*(np.ascontiguousarray(rec[f]) for f in dtype.names or ()))

    @classmethod
    def concat(cls, blocks: list[_Block]) -> _Block:
        if len(blocks) == 1:
            return blocks[0]
        return cls(*(np.concatenate([getattr(b, f) for b in blocks]) for f in _FIELDS))

    def take(self, which: np.ndarray) -> _Block:
        return _Block(*(getattr(self, f)[which] for f in _FIELDS))

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f).nbytes for f in _FIELDS)


_FIELDS = ("pos", "rnorm", "xdot", "vsq", "bits")


class ClusteredIndex:
    """An opened clustered index: its head in memory, the rest read by range on demand."""

    def __init__(self, header: Header, head: bytes, read: ReadRanges) -> None:
        self.header = header
        self.metric = header.metric
        self.dim = header.dim
        self.count = header.rows
        self.clusters = header.clusters
        cbytes = header.clusters * header.dim * 4
        base = HEADER.size
        self.centroids = np.frombuffer(head, "<f4", header.clusters * header.dim, base).reshape(
            header.clusters, header.dim
        )
        self.starts = np.frombuffer(head, "<u8", header.clusters + 1, base + cbytes).astype(
            np.int64
        )
        self._rotation = rotation(header.dim, header.seed)
        self._record = record_dtype(header.dim)
        self._read = read
        self.nbytes = len(head) + self._rotation.nbytes

    @classmethod
    def open(cls, read: ReadRanges, rows: int, dim: int, where: str = "index") -> ClusteredIndex:
        """Read the header and head (one request when the file was built for `rows` and
        `dim` by this version, two otherwise)."""
        (head,) = read([(0, head_bytes(rows, dim))])
        header = Header.unpack(head, where)
        if len(head) < header.head_end:
            (head,) = read([(0, header.head_end)])
        return cls(header, bytes(head[: header.head_end]), read)

    def __len__(self) -> int:
        return self.count

    def search(
        self,
        queries: np.ndarray,
        k: int,
        nprobe: int = DEFAULT_NPROBE,
        allowed: np.ndarray | None = None,
        *,
        rerank: int | None = None,
        cache: BlockCache | None = None,
        cache_key: Hashable = None,
        on_candidates: Callable[[np.ndarray], object] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The k nearest allowed rows to each query: (positions int64 (m, k'), distances
        float32 (m, k'), vectors float32 (m, k', d)), nearest first, -1 / inf / 0 where a
        query found fewer than k' = min(k, allowed rows). Two round trips (codes, vectors), and
        one more each time a filter leaves a query short of k rows in the clusters it probed
        (then four times as many are probed). Code blocks come from `cache` under
        (cache_key, cluster) when it holds them. `on_candidates(positions)` is told every
        candidate's position before their vectors are read (to read their rows alongside)."""
        k = check_k(k)
        q = as_queries(queries, self.dim)
        m = len(q)
        if allowed is not None:
            allowed = check_allowed(allowed, self.count)
        kk = min(k, self._admitted(allowed))
        pos = np.full((m, kk), -1, np.int64)
        dist = np.full((m, kk), np.inf, np.float32)
        vecs = np.zeros((m, kk, self.dim), np.float32)
        if kk == 0:
            return pos, dist, vecs
        space = _unit(q) if self.metric == "cosine" else q
        keep = max(RERANK, 2 * kk, RERANK_PER_PROBE * int(nprobe)) if rerank is None else rerank
        # A filter admitting a fraction s of the rows: probe 1/s as many clusters, to rank
        # about as many admitted rows as an unfiltered search would.
        share = kk_rows / self.count if (kk_rows := self._admitted(allowed)) else 1.0
        width = max(1, min(self.clusters, int(np.ceil(int(nprobe) / max(share, 1e-9)))))
        cands: list[tuple[np.ndarray, np.ndarray]] = [(np.empty(0, np.int64),) * 2] * m
        short = np.arange(m)
        while len(short):  # a filter can leave the probed clusters short of k rows: widen
            probed = self._probe(space[short], width)
            blocks = self._blocks(np.unique(probed), cache, cache_key)
            for j, i in enumerate(short.tolist()):
                cands[i] = self._candidates(space[i], probed[j], blocks, allowed, keep)
            if width >= self.clusters:
                break
            short = np.array([i for i in short.tolist() if len(cands[i][0]) < kk], np.int64)
            width = min(self.clusters, width * 4)
        entries = np.unique(np.concatenate([e for e, _ in cands]))
        if on_candidates is not None:
            on_candidates(np.unique(np.concatenate([p for _, p in cands])))
        full = self._vectors(entries)
        for i, (entry, position) in enumerate(cands):
            v = full[np.searchsorted(entries, entry)]
            d = distances(v, q[i], self.metric)
            best = np.lexsort((position, d))[:kk]
            pos[i, : len(best)] = position[best]
            dist[i, : len(best)] = d[best]
            vecs[i, : len(best)] = v[best]
        return pos, dist, vecs

    def _admitted(self, allowed: np.ndarray | None) -> int:
        return self.count if allowed is None else int(np.count_nonzero(allowed))

    def _probe(self, space: np.ndarray, nprobe: int) -> np.ndarray:
        """The `nprobe` nearest clusters of each query, (m, nprobe)."""
        scores = space @ self.centroids.T
        if self.metric == "l2":
            scores = 2 * scores - np.einsum("ij,ij->i", self.centroids, self.centroids)
        if nprobe >= self.clusters:
            return np.broadcast_to(np.arange(self.clusters), (len(space), self.clusters))
        return np.argpartition(-scores, nprobe - 1, axis=1)[:, :nprobe]

    def _blocks(
        self, clusters: np.ndarray, cache: BlockCache | None, cache_key: Hashable
    ) -> dict[int, _Block]:
        """The code records of each cluster, read in one round trip for those not cached."""
        out: dict[int, np.ndarray] = {}
        missing = []
        for c in clusters.tolist():
            hit = cache.peek((cache_key, c)) if cache is not None else None
            if hit is not None:
                out[c] = hit  # type: ignore[assignment]
            elif self.starts[c + 1] > self.starts[c]:
                missing.append(c)
        size = self._record.itemsize
        spans = {c: (self.header.codes_at + int(self.starts[c]) * size,
                     int(self.starts[c + 1] - self.starts[c]) * size) for c in missing}  # fmt: skip
        chunks = self._fetch(list(spans.values()))
        for c, (start, length) in spans.items():
            block = _Block.decode(slice_of(chunks, start, length), self._record)
            out[c] = block
            if cache is not None:
                cache.put((cache_key, c), block)
        return out

    def _candidates(
        self,
        query: np.ndarray,
        probed: np.ndarray,
        blocks: dict[int, _Block],
        allowed: np.ndarray | None,
        keep: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(entries in cluster order, positions) of the `keep` best-estimated rows."""
        parts = [(c, blocks[c]) for c in probed.tolist() if c in blocks]
        if not parts:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        sizes = [len(b.pos) for _, b in parts]
        ids = np.array([c for c, _ in parts])
        block = _Block.concat([b for _, b in parts])
        entry = np.concatenate([np.arange(len(b.pos)) + self.starts[c] for c, b in parts])
        qc = np.repeat(self.centroids[ids] @ query, sizes)  # <q, c> of each row's centroid
        if allowed is not None:
            ok = allowed[block.pos]
            block, entry, qc = block.take(ok), entry[ok], qc[ok]
        estimate = self._estimate(query, block, qc)
        pos = block.pos
        if len(estimate) > keep:
            best = np.argpartition(estimate, keep - 1)[:keep]
            entry, pos = entry[best], pos[best]
        return entry.astype(np.int64), pos.astype(np.int64)

    def _estimate(self, query: np.ndarray, block: _Block, qc: np.ndarray) -> np.ndarray:
        """Estimated distance keys (smaller is closer) of the rows of `block`."""
        qu = self._code_dots(query @ self._rotation.T, block.bits)
        qu /= np.sqrt(self.dim) * np.maximum(block.xdot, 1e-6)
        qv = qc + block.rnorm * qu  # <q, c> + |r| <q, u>
        return block.vsq - 2 * qv if self.metric == "l2" else -qv

    def _code_dots(self, py: np.ndarray, bits: np.ndarray) -> np.ndarray:
        """<2b - 1, py> for every code b, through a table of each byte's 256 partial sums."""
        nb = bits.shape[1]
        padded = np.zeros(nb * 8, np.float32)
        padded[: self.dim] = py
        by_byte = padded.reshape(nb, 8)
        # (nb, 256): byte j holding value b adds table[j, b]
        table = (_BYTE_BITS @ (2 * by_byte.T)).T - by_byte.sum(axis=1)[:, None]
        flat = bits.astype(np.intp)
        flat += np.arange(nb) * 256
        return np.take(table.ravel(), flat).sum(axis=1)

    def _vectors(self, entries: np.ndarray) -> np.ndarray:
        """Full vectors of entries (sorted, cluster order), one round trip."""
        row = self.dim * 4
        base = self.header.vectors_at
        chunks = self._fetch([(base + int(e) * row, row) for e in entries.tolist()])
        return np.stack(
            [np.frombuffer(slice_of(chunks, base + int(e) * row, row), "<f4") for e in entries]
        ) if len(entries) else np.empty((0, self.dim), np.float32)  # fmt: skip

    def _fetch(self, ranges: list[tuple[int, int]]) -> dict[int, bytes]:
        merged = coalesce(ranges, _GAP_BYTES)
        if not merged:
            return {}
        return {start: data for (start, _), data in zip(merged, self._read(merged), strict=True)}
