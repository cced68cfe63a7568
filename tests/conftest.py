"""Shared fixtures: S3 servers on free loopback ports, and Settings/stores per backend.

Fixtures:
- `moto_server` (session): endpoint URL of an in-process moto S3 server.
- `seaweedfs_server` (session): (endpoint, access_key, secret_key) of a `weed mini`.
- `backend`: "local" or "s3" (moto). A test module may override it with its own params,
  e.g. adding "seaweedfs" (mark that case `seaweedfs`).
- `make_settings(**overrides)`: Settings on this test's fresh data location; every call
  points at the same data, so two engines can share it.
- `settings`: `make_settings()`. `store`: `open_store(settings)`, closed afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from elacsym_sql.config import Settings
from elacsym_sql.storage import ObjectStore, open_store
from elacsym_sql.testing import s3servers
from elacsym_sql.testing.s3servers import MOTO_KEY, MOTO_SECRET, REGION, S3Server, s3_client

WEED_BUCKET = "elacsym-tests"


@pytest.fixture(scope="session", autouse=True)
def _aws_sandbox() -> Iterator[None]:
    """Nothing may reach real AWS or read ~/.aws: dummy keys, no metadata service."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", MOTO_KEY)
        mp.setenv("AWS_SECRET_ACCESS_KEY", MOTO_SECRET)
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("AWS_CONFIG_FILE", os.devnull)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        yield


# The longest test files (minutes each, mostly waiting). Two workers take whole files in
# collection order (decision 0083): starting these first keeps one of them from being the
# last file of the run while the other worker sits idle.
LONGEST_FIRST = (
    "server/test_clients_sqlalchemy_suite.py",
    "server/test_soak.py",
    "engine/test_idle.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order files: the longest, then other files with slow tests, then the rest (stable)."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> tuple[int, int]:
        path = item.path.as_posix()
        longest = [i for i, name in enumerate(LONGEST_FIRST) if path.endswith(name)]
        return (0, longest[0]) if longest else (1 if item.path in slow else 2, 0)

    items.sort(key=rank)


@contextlib.contextmanager
def _started(server: contextlib.AbstractContextManager[S3Server]) -> Iterator[S3Server]:
    """Enter `server`; when it does not come up, fail (not error) whoever asked for it."""
    with contextlib.ExitStack() as stack:
        try:
            started = stack.enter_context(server)
        except s3servers.ServerStartError as exc:
            pytest.fail(str(exc))
        yield started


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """The endpoint URL ("http://127.0.0.1:<port>") of a moto S3 server in this process."""
    with _started(s3servers.moto_server(in_process=True)) as server:
        yield server.endpoint


@pytest.fixture(scope="session")
def seaweedfs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """(endpoint, access_key, secret_key) of a `weed mini` on 127.0.0.1 free ports.

    The bucket WEED_BUCKET exists already; tests isolate themselves by key prefix (one
    bucket per test would make SeaweedFS allocate volumes per bucket).
    """
    workdir = tmp_path_factory.mktemp("seaweedfs")
    with _started(s3servers.seaweedfs_server(workdir, bucket=WEED_BUCKET)) as server:
        yield server.endpoint, server.access_key, server.secret_key


# -- settings and stores ------------------------------------------------------------------


@pytest.fixture(params=["local", "s3"], ids=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> str:
    """Where this test's data lives: "local" (a tmp dir), "s3" (moto), or "seaweedfs"."""
    return request.param


@pytest.fixture
def make_settings(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[..., Settings]:
    """`make_settings(**overrides)` -> Settings on this test's data (same data each call)."""
    if backend == "local":
        extra: dict[str, Any] = {"data": str(tmp_path / "data")}
    elif backend == "s3":
        endpoint = request.getfixturevalue("moto_server")
        bucket = f"t-{uuid.uuid4().hex[:20]}"
        s3_client(endpoint, MOTO_KEY, MOTO_SECRET).create_bucket(Bucket=bucket)
        extra = {
            "data": f"s3://{bucket}/root",
            "s3_endpoint": endpoint,
            "s3_access_key_id": MOTO_KEY,
            "s3_secret_access_key": MOTO_SECRET,
        }
    elif backend == "seaweedfs":
        endpoint, key, secret = request.getfixturevalue("seaweedfs_server")
        extra = {
            "data": f"s3://{WEED_BUCKET}/{uuid.uuid4().hex}",
            "s3_endpoint": endpoint,
            "s3_access_key_id": key,
            "s3_secret_access_key": secret,
        }
    else:
        raise ValueError(f"unknown backend {backend!r}")
    base = Settings(s3_region=REGION, cache_dir=str(tmp_path / "cache"), indexer=False, **extra)

    def make(**overrides: Any) -> Settings:
        return dataclasses.replace(base, **overrides)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def store(settings: Settings) -> Iterator[ObjectStore]:
    s = open_store(settings)
    try:
        yield s
    finally:
        s.close()
