"""A cold search of a clustered segment on S3 (moto over HTTP): a process with empty caches
reads the index's head and the segment's footer, the code blocks of the probed clusters,
then the best candidates' vectors and rows: at most 3 sequential round trips after the
manifest, a small share of the namespace's vector bytes, and recall@10 >= 0.95. Requests
are counted by the S3 store's own counter (every HTTP request botocore sends)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pytest

from elacsym_sql.config import Settings
from elacsym_sql.engine import Engine, EngineApi
from elacsym_sql.schema import Column, Options, Schema
from elacsym_sql.storage import MeteredStore

T = TypeVar("T")
DIM, ROWS = 384, 30_000


@pytest.fixture(params=["s3"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


class TimedStore(MeteredStore):
    """The engine's store, with the keys it was asked for and the bytes it returned."""

    def __init__(self, inner: MeteredStore) -> None:
        super().__init__(inner.inner)
        self.calls: list[str] = []
        self.read_bytes = 0
        self._lock = threading.Lock()

    def _call(self, op: str, key: str, call: Callable[[], T]) -> T:
        out = super()._call(op, key, call)
        with self._lock:
            self.calls.append(key)
            self.read_bytes += len(out) if isinstance(out, bytes) else 0
        return out


def timed_batches(engine: Engine) -> list[tuple[float, float, int]]:
    """Record every batch of ranged reads the engine sends at once (its `reader`): when it
    was sent, when its last answer came, how many ranges."""
    batches: list[tuple[float, float, int]] = []
    make = engine.files.reader

    def reader(key: str):  # type: ignore[no-untyped-def]
        read = make(key)

        def timed(ranges):  # type: ignore[no-untyped-def]
            sent = time.monotonic()
            out = read(ranges)
            batches.append((sent, time.monotonic(), len(ranges)))
            return out

        return timed

    engine.files.reader = reader  # type: ignore[method-assign]
    return batches


def round_trips(batches: list[tuple[float, float, int]]) -> int:
    """The longest chain of batches each sent after the previous one was answered."""
    depth: list[int] = []
    ordered = sorted(batches)
    for i, (sent, _, _) in enumerate(ordered):
        before = [depth[j] for j in range(i) if ordered[j][1] <= sent]
        depth.append(1 + max(before, default=0))
    return max(depth, default=0)


def corpus() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    centres = rng.normal(size=(300, DIM))
    vectors = centres[rng.integers(0, 300, ROWS)] + 0.8 * rng.normal(size=(ROWS, DIM))
    queries = centres[rng.integers(0, 300, 12)] + 1.0 * rng.normal(size=(12, DIM))
    return vectors.astype(np.float32), queries.astype(np.float32)


def test_cold_search_round_trips_and_bytes(make_settings: Callable[..., Settings], tmp_path):
    vectors, queries = corpus()
    writer = Engine(make_settings(cache_dir=str(tmp_path / "writer-cache")))
    api = EngineApi(writer)
    schema = Schema(
        "cold",
        (Column("id", "BIGINT"), Column("emb", f"FLOAT[{DIM}]")),
        "id",
        Options(vector_index="clustered"),
    )
    api.create_namespace(schema)
    api.upsert("cold", [{"id": i, "emb": v.tolist()} for i, v in enumerate(vectors)])
    writer.fold("cold")
    writer.close()
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    truth = np.argsort(-(queries @ unit.T), axis=1)[:, :10]
    vector_bytes = vectors.nbytes

    found = 0
    for i, q in enumerate(queries):  # each query in a new process-like engine: empty caches
        reader = Engine(make_settings(cache_dir=str(tmp_path / f"cold-{i}")))
        try:
            api = EngineApi(reader)
            reader.namespace("cold").snapshot()  # the manifest: what every read needs first
            timed = TimedStore(reader.files.store)  # type: ignore[arg-type]
            reader.files.store = timed
            batches = timed_batches(reader)
            before = dict(reader.store.request_counts)
            got = api.vector_search("cold", q, 10).rows.column("id").to_pylist()
            gets = reader.store.request_counts["get"] - before.get("get", 0)
            found += len(set(got) & set(truth[i].tolist()))
            assert round_trips(batches) <= 3, batches
            assert timed.read_bytes <= 0.05 * vector_bytes, timed.read_bytes / vector_bytes
            # the S3 store's own count: these, and the strong read's probe of the next WAL object
            assert gets == len(timed.calls) + 1
            assert all(k.endswith((".parquet", ".ivf")) for k in timed.calls)
        finally:
            reader.close()
    assert found / truth.size >= 0.95


def test_a_segment_in_use_is_copied_locally(make_settings: Callable[..., Settings], tmp_path):
    """A cold query reads ranges only; a segment searched again gets its index and data
    files copied into the disk cache in the background, after which a search sends the
    store no request for them (a warm query on S3 must not cost hundreds of ranged GETs)."""
    rng = np.random.default_rng(8)
    vectors = rng.normal(size=(6000, 48)).astype(np.float32)
    writer = Engine(make_settings(cache_dir=str(tmp_path / "writer-cache")))
    api = EngineApi(writer)
    columns = (Column("id", "BIGINT"), Column("emb", "FLOAT[48]"))
    api.create_namespace(Schema("warm", columns, "id", Options(vector_index="clustered")))
    api.upsert("warm", [{"id": i, "emb": v.tolist()} for i, v in enumerate(vectors)])
    writer.fold("warm")
    writer.close()

    reader = Engine(make_settings(cache_dir=str(tmp_path / "reader-cache")))
    try:
        api = EngineApi(reader)
        (seg,) = reader.namespace("warm").snapshot().manifest.segments
        timed = TimedStore(reader.files.store)  # type: ignore[arg-type]
        reader.files.store = timed

        def search() -> list[int]:
            return api.vector_search("warm", vectors[7], 10).rows.column("id").to_pylist()

        first = search()
        assert timed.calls and set(timed.calls) <= {seg.data_key("warm"), seg.indexes["ivf:emb"]}
        entries = reader.cache.stats()["entries"]  # the manifest's; the segment: ranges only
        time.sleep(0.5)
        assert reader.cache.stats()["entries"] == entries
        assert search() == first
        deadline = time.monotonic() + 60
        while reader.cache.stats()["entries"] < entries + 2:  # the two files, in the background
            assert time.monotonic() < deadline, reader.cache.stats()
            time.sleep(0.05)
        timed.calls.clear()
        assert search() == first
        assert timed.calls == []
    finally:
        reader.close()
