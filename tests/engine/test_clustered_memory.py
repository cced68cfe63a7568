"""A namespace several times larger than `memory_cache_bytes` (and than the disk cache),
searched repeatedly through its clustered index: both caches stay within their bounds, the
segment's rows are never loaded whole, the process's memory does not grow pass after pass,
and recall holds (decision 0081)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from elacsym_sql.config import Settings
from elacsym_sql.engine import Engine, EngineApi
from elacsym_sql.schema import Column, Options, Schema

DIM, ROWS = 384, 24_000  # 37 MB of vectors
MEMORY, DISK = 6 << 20, 8 << 20


@pytest.fixture(params=["local"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")  # pragma: no cover


def test_larger_than_memory_searched_repeatedly(make_settings: Callable[..., Settings], tmp_path):
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(200, DIM))
    vectors = (centres[rng.integers(0, 200, ROWS)] + rng.normal(size=(ROWS, DIM))).astype(
        np.float32
    )
    queries = (centres[rng.integers(0, 200, 40)] + 1.2 * rng.normal(size=(40, DIM))).astype(
        np.float32
    )
    writer = Engine(make_settings(cache_dir=str(tmp_path / "writer-cache")))
    api = EngineApi(writer)
    columns = (Column("id", "BIGINT"), Column("emb", f"FLOAT[{DIM}]"))
    api.create_namespace(Schema("big", columns, "id", Options(vector_index="clustered")))
    api.upsert("big", [{"id": i, "emb": v.tolist()} for i, v in enumerate(vectors)])
    writer.fold("big")
    writer.close()
    assert vectors.nbytes > 5 * MEMORY

    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    truth = np.argsort(-(queries @ unit.T), axis=1)[:, :10]
    reader = Engine(
        make_settings(
            cache_dir=str(tmp_path / "reader-cache"), memory_cache_bytes=MEMORY, cache_bytes=DISK
        )
    )
    try:
        api = EngineApi(reader)
        rss = []
        for _ in range(4):
            found = 0
            for q, t in zip(queries, truth, strict=True):
                got = api.vector_search("big", q, 10).rows.column("id").to_pylist()
                found += len(set(got) & set(t.tolist()))
            assert found / truth.size >= 0.95
            rss.append(rss_bytes())
            memory = reader.files.memory
            assert memory._bytes <= MEMORY
            assert not [k for k in memory._entries if k[0] in ("rows", "hnsw", "keys")]
            assert reader.cache.stats()["bytes"] <= DISK
        # after the first pass warmed what fits, later passes add nothing that grows
        assert rss[-1] - rss[1] < 8 << 20, [r >> 20 for r in rss]
    finally:
        reader.close()
