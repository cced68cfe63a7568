"""Fixtures for tests over a flaky object store: the fault-injecting proxy of
elacsym_sql.testing.faulty_s3 in front of moto.

- `proxy`: a FaultyS3Proxy (no faults until told) in front of the session's moto server.
- `flaky_settings(**overrides)`: Settings on a fresh bucket reached through `proxy` (every
  call points at the same data).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from elacsym_sql.config import Settings
from elacsym_sql.testing.faulty_s3 import FaultyS3Proxy
from elacsym_sql.testing.s3servers import MOTO_KEY, MOTO_SECRET, REGION, s3_client


@pytest.fixture
def proxy(moto_server: str) -> Iterator[FaultyS3Proxy]:
    with FaultyS3Proxy(moto_server, seed=20261209, max_delay=0.05) as p:
        yield p


@pytest.fixture
def flaky_settings(
    moto_server: str, proxy: FaultyS3Proxy, tmp_path: Path
) -> Callable[..., Settings]:
    """Settings on a fresh bucket, reached through the proxy."""
    bucket = f"f-{uuid.uuid4().hex[:20]}"
    s3_client(moto_server, MOTO_KEY, MOTO_SECRET).create_bucket(Bucket=bucket)

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data": f"s3://{bucket}/root",
            "s3_endpoint": proxy.endpoint,
            "s3_region": REGION,
            "s3_access_key_id": MOTO_KEY,
            "s3_secret_access_key": MOTO_SECRET,
            "cache_dir": str(tmp_path / f"cache-{uuid.uuid4().hex[:8]}"),
            "indexer": False,
            "storage_deadline_seconds": 10.0,
            "storage_timeout_seconds": 5.0,
        }
        return Settings(**{**values, **overrides})

    return make
