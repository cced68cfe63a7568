"""Storage trouble is 503 with SQLSTATE 58030, not a 500 or a hang: an HTTP API over an S3
endpoint where nothing listens (connections refused), with a short retry deadline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from elacsym_sql.config import Settings
from elacsym_sql.engine import Engine, EngineApi
from elacsym_sql.http import BackgroundHttpServer
from tests.http.client import Client, free_port


@pytest.fixture
def unreachable(tmp_path) -> Iterator[Client]:
    settings = Settings(
        data="s3://nowhere/root",
        s3_endpoint=f"http://127.0.0.1:{free_port()}",
        s3_access_key_id="k",
        s3_secret_access_key="s",
        cache_dir=str(tmp_path / "cache"),
        indexer=False,
        storage_deadline_seconds=0.5,
        storage_timeout_seconds=0.5,
    )
    engine = Engine(settings)
    server = BackgroundHttpServer(EngineApi(engine)).start()
    try:
        yield Client(server.port)
    finally:
        server.stop()
        engine.close()


def test_storage_trouble_is_503(unreachable):
    for method, path, body in [
        ("GET", "/v1/namespaces", None),
        ("PUT", "/v1/namespaces/docs", {"schema": {"vector_dim": 2}}),
        ("POST", "/v1/namespaces/docs/query", {"vector": [1, 0]}),
    ]:
        status, answer = unreachable.call(method, path, body)
        assert (status, answer["code"]) == (503, "58030"), answer
