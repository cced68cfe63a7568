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

import mmap
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
from elacsym_sql.index.kmeans import by_blocks, kmeans, nearest_centroid, path_order

ReadRanges = Callable[[Sequence[tuple[int, int]]], list[bytes]]

# Candidates reranked exactly per query (at least 2 k). Measured on the 133k sentence vectors
# with out-of-corpus queries: the 1-bit estimate keeps the true top 10 within the best 100
# (recall 0.983 at 128 clusters of 512, against 0.957 with 40 candidates).
RERANK = 100
# ... and at least this many per probed cluster: queries far from every row (calibration's
# probes in 128-d) gain recall from a deeper rerank long after more clusters stop helping
# (probing 96 of 242: 0.948 with 100 candidates, 0.994 with 400).
RERANK_PER_PROBE = 4
# Searches of at least this many queries score codes cluster by cluster, all queries at once.
BATCH_QUERIES = 8
# Clusters probed when no calibration says otherwise.
DEFAULT_NPROBE = 64
# Bits per dimension of the query against which codes are scanned (the codes' dot products
# are popcounts of the code and each of the query's bit planes).
QUERY_BITS = 4
# Clusters probed at each calibration step (index/calibrate.py), up to every cluster.
_NPROBE_LADDER = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536)


def nprobe_ladder(clusters: int) -> tuple[int, ...]:
    """The calibration ladder for an index of `clusters` clusters, ending at all of them."""
    return (*(p for p in _NPROBE_LADDER if p < clusters), clusters)


# A round trip's ranges are merged across their smallest gaps while the bytes between add
# up to at most this share of the bytes wanted (decision 0088: with clusters numbered along
# a path through their centroids, probed clusters lie in runs; on the 127.8k sentence
# vectors this halves a cold query's requests for < 1% of the vector bytes more).
_PADDING_SHARE = 1.0


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
    centroids = centroids[path_order(centroids)]  # near clusters get near numbers
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
    turn = rotation(dim, seed).T
    rotated = by_blocks(residual, lambda block: _unit(block) @ turn)
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
    """A cluster's code records, decoded for scanning: positions; per row the factor from
    its code's dot to <q, |r| u> and its squared norm; the codes as 64-bit words, transposed
    (word w of every row's code in row w), so a scan runs over contiguous words."""

    pos: np.ndarray  # (rows,) uint32
    terms: np.ndarray  # (3, rows) float32: |r| / (sqrt(d) <x, P u>), |v|^2, set bits of the code
    words: np.ndarray  # (code words, rows) uint64

    @classmethod
    def decode(cls, data: memoryview, dtype: np.dtype, dim: int) -> _Block:
        rec = np.frombuffer(data, dtype)
        words = _words(rec["bits"])
        terms = np.empty((3, len(rec)), np.float32)
        terms[0] = rec["rnorm"] / (np.sqrt(dim) * np.maximum(rec["xdot"], 1e-6))
        terms[1] = rec["vsq"]
        terms[2] = np.bitwise_count(words).sum(axis=1)
        return cls(np.ascontiguousarray(rec["pos"]), terms, words.T.copy())

    @classmethod
    def concat(cls, blocks: list[_Block]) -> _Block:
        if len(blocks) == 1:
            return blocks[0]
        return cls(*(np.concatenate([getattr(b, f) for b in blocks], -1) for f in _FIELDS))

    def take(self, which: np.ndarray) -> _Block:
        return _Block(*(getattr(self, f)[..., which] for f in _FIELDS))

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f).nbytes for f in _FIELDS)


_FIELDS = ("pos", "terms", "words")


def _coalesce(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return coalesce(ranges, int(_PADDING_SHARE * sum(n for _, n in ranges)))


def _words(codes: np.ndarray) -> np.ndarray:
    """Codes (rows, bytes) as (rows, words) uint64, zero-padded to whole words."""
    pad = -codes.shape[1] % 8
    if pad:
        codes = np.pad(codes, ((0, 0), (0, pad)))
    return np.ascontiguousarray(codes).view(np.uint64)


class ClusteredIndex:
    """An opened clustered index: its head in memory, the rest read by range on demand."""

    def __init__(
        self, header: Header, head: bytes, read: ReadRanges, mapped: mmap.mmap | None = None
    ) -> None:
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
        self._mapped: np.ndarray | None = None
        self.map_file(mapped)
        self.nbytes = len(head) + self._rotation.nbytes

    def map_file(self, mapped: mmap.mmap | None) -> None:
        """Read full vectors from `mapped`, the whole file (a local copy), from now on: a
        rerank then reads its candidates' vectors from the page cache, with no request or
        copy per candidate. None: keep reading by range."""
        if mapped is not None:
            self._mapped = np.frombuffer(
                mapped, "<f4", self.entries * self.dim, self.header.vectors_at
            ).reshape(-1, self.dim)

    @property
    def is_local(self) -> bool:
        return self._mapped is not None

    @classmethod
    def open(
        cls, read: ReadRanges, rows: int, dim: int, where: str = "index",
        mapped: mmap.mmap | None = None,
    ) -> ClusteredIndex:  # fmt: skip
        """Read the header and head (one request when the file was built for `rows` and
        `dim` by this version, two otherwise). `mapped`: the whole file, when it is local."""
        (head,) = read([(0, head_bytes(rows, dim))])
        header = Header.unpack(head, where)
        if len(head) < header.head_end:
            (head,) = read([(0, header.head_end)])
        return cls(header, bytes(head[: header.head_end]), read, mapped)

    def __len__(self) -> int:
        return self.count

    @property
    def entries(self) -> int:
        """Rows with a vector (the others are left out of the index)."""
        return int(self.starts[-1])

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
            if len(short) >= BATCH_QUERIES:
                found = self._batch_candidates(space[short], probed, blocks, allowed, keep)
            else:
                found = [
                    self._candidates(space[i], probed[j], blocks, allowed, keep)
                    for j, i in enumerate(short.tolist())
                ]
            for i, got in zip(short.tolist(), found, strict=True):
                cands[i] = got
            if width >= self.clusters:
                break
            short = np.array([i for i in short.tolist() if len(cands[i][0]) < kk], np.int64)
            width = min(self.clusters, width * 4)
        entries = np.unique(np.concatenate([e for e, _ in cands]))
        if on_candidates is not None:
            on_candidates(np.unique(np.concatenate([p for _, p in cands])))
        full = self.vectors_at(entries)
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
            block = _Block.decode(slice_of(chunks, start, length), self._record, self.dim)
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
        ids = np.array([c for c, _ in parts])
        sizes = self.starts[ids + 1] - self.starts[ids]
        block = _Block.concat([b for _, b in parts])
        # entry of each row: its cluster's first entry plus its rank within the cluster
        first = np.repeat(self.starts[ids] - (np.cumsum(sizes) - sizes), sizes)
        entry = first + np.arange(len(first))
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

    def _batch_candidates(
        self,
        space: np.ndarray,
        probed: np.ndarray,
        blocks: dict[int, _Block],
        allowed: np.ndarray | None,
        keep: int,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """`_candidates` for many queries at once, cluster by cluster: a cluster's codes,
        unpacked to bits, are scored against every query probing it by one matrix product
        (exact in the query, where a single query's scan quantizes it), so a batch (the
        calibration's probes) costs one pass over each probed cluster, not one a query."""
        turned = space @ self._rotation.T  # P y of each query
        py_sums = turned.sum(axis=1)
        asked = np.repeat(np.arange(len(space)), probed.shape[1])
        by_cluster = np.argsort(probed.ravel(), kind="stable")
        clusters, firsts = np.unique(probed.ravel()[by_cluster], return_index=True)
        found: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in space]
        groups = np.split(asked[by_cluster], firsts[1:])
        for c, group in zip(clusters.tolist(), groups, strict=True):
            block = blocks.get(c)
            if block is None:
                continue
            entry = self.starts[c] + np.arange(len(block.pos))
            if allowed is not None:
                ok = allowed[block.pos]
                block, entry = block.take(ok), entry[ok]
            if not len(entry):
                continue
            codes = np.ascontiguousarray(block.words.T).view(np.uint8)
            bits = np.unpackbits(codes, axis=1)[:, : self.dim].astype(np.float32)
            qu = 2 * (bits @ turned[group].T) - py_sums[group]  # <2b - 1, P y>, (rows, g)
            qv = space[group] @ self.centroids[c] + block.terms[0][:, None] * qu
            estimate = block.terms[1][:, None] - 2 * qv if self.metric == "l2" else -qv
            for j, i in enumerate(group.tolist()):
                found[i].append((entry, block.pos, estimate[:, j]))
        out = []
        for parts in found:
            if not parts:
                out.append((np.empty(0, np.int64), np.empty(0, np.int64)))
                continue
            entry, pos, estimate = (np.concatenate(f) for f in zip(*parts, strict=True))
            if len(estimate) > keep:
                best = np.argpartition(estimate, keep - 1)[:keep]
                entry, pos = entry[best], pos[best]
            out.append((entry.astype(np.int64), pos.astype(np.int64)))
        return out

    def _estimate(self, query: np.ndarray, block: _Block, qc: np.ndarray) -> np.ndarray:
        """Estimated distance keys (smaller is closer) of the rows of `block`."""
        qu = self._code_dots(query @ self._rotation.T, block)
        qv = qc + block.terms[0] * qu  # <q, c> + |r| <q, u>
        return block.terms[1] - 2 * qv if self.metric == "l2" else -qv

    def _code_dots(self, py: np.ndarray, block: _Block) -> np.ndarray:
        """<2b - 1, py> for the code b of every row of `block`. The query is quantized to
        QUERY_BITS bits a dimension, py ~ low + step sum_k 2^k p_k with bit planes p_k
        packed as the codes are, so <b, py> ~ low |b| + step sum_k 2^k popcount(b & p_k):
        bitwise operations over contiguous words, no lookups."""
        low, top = float(py.min()), float(py.max())
        step = (top - low) / (2**QUERY_BITS - 1) or 1.0
        levels = np.rint((py - low) / step).astype(np.uint8)
        planes = (levels[None, :] >> np.arange(QUERY_BITS, dtype=np.uint8)[:, None]) & 1
        plane_words = _words(np.packbits(planes, axis=1))  # (QUERY_BITS, words)
        rows = block.words.shape[1]
        wide = np.uint16 if self.dim * (2**QUERY_BITS - 1) < 1 << 16 else np.uint32
        sums = np.zeros((QUERY_BITS, rows), wide)
        masked = np.empty(rows, np.uint64)
        count = np.empty(rows, np.uint8)
        for w, row in enumerate(block.words):
            for k in range(QUERY_BITS):
                np.bitwise_and(row, plane_words[k, w], out=masked)
                np.add(sums[k], np.bitwise_count(masked, out=count), out=sums[k])
        weights = np.array([2.0**k * step for k in range(QUERY_BITS)], np.float32)
        dots = weights @ sums.astype(np.float32) + low * block.terms[2]  # <b, py>
        return 2 * dots - float(py.sum())

    def vectors_at(self, entries: np.ndarray) -> np.ndarray:
        """Full vectors of entries (cluster order): from the mapped local file, else in one
        round trip of ranged reads."""
        if self._mapped is not None:
            return self._mapped[entries]
        if not len(entries):
            return np.empty((0, self.dim), np.float32)
        row = self.dim * 4
        base = self.header.vectors_at
        merged = _coalesce([(base + e * row, row) for e in entries.tolist()])
        # each merged range starts at an entry and spans whole rows
        parts = [np.frombuffer(d, "<f4").reshape(-1, self.dim) for d in self._read(merged)]
        firsts = (np.array([start for start, _ in merged]) - base) // row
        counts = np.array([len(p) for p in parts])
        which = np.searchsorted(firsts, entries, side="right") - 1
        return np.concatenate(parts)[
            np.cumsum(counts)[which] - counts[which] + entries - firsts[which]
        ]

    def _fetch(self, ranges: list[tuple[int, int]]) -> dict[int, bytes]:
        merged = _coalesce(ranges)
        if not merged:
            return {}
        return {start: data for (start, _), data in zip(merged, self._read(merged), strict=True)}
