"""The moto server the tests run on decides a conditional PUT atomically, as S3 does.

moto 5.2 checks the condition and stores the object in separate steps; two PUTs of one
key racing between them both got 200, the later replacing the earlier (an acknowledged WAL
record vanished: decision 0047). Here the gap between check and write is widened on
purpose, so that the race happens on every run instead of once in thousands.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.s3.responses import S3Response

from elacsym_sql.testing.s3servers import MOTO_KEY, MOTO_SECRET, s3_client

RACERS = 3


@pytest.fixture
def wide_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every PUT pauses between its condition check and its write."""
    checksum = S3Response._get_checksum

    def slow_checksum(self: S3Response, headers: dict[str, Any]) -> Any:
        time.sleep(0.2)  # after the condition was checked, before the object is stored
        return checksum(self, headers)

    monkeypatch.setattr(S3Response, "_get_checksum", slow_checksum)


def _race(put: Callable[[int], None]) -> list[int]:
    """Run `put(i)` for every racer at once; the HTTP status each got."""
    statuses = [0] * RACERS
    start = threading.Barrier(RACERS, timeout=30)

    def run(i: int) -> None:
        start.wait()
        try:
            put(i)
            statuses[i] = 200
        except ClientError as exc:
            statuses[i] = exc.response["ResponseMetadata"]["HTTPStatusCode"]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return statuses


def _bucket(endpoint: str) -> Any:
    client = s3_client(endpoint, MOTO_KEY, MOTO_SECRET)
    bucket = f"race-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


@pytest.mark.usefixtures("wide_gap")
def test_racing_creates_of_one_key_let_exactly_one_win(moto_server: str) -> None:
    client, bucket = _bucket(moto_server)

    def create(i: int) -> None:
        client.put_object(Bucket=bucket, Key="wal/1", Body=b"racer %d" % i, IfNoneMatch="*")

    statuses = _race(create)
    assert sorted(statuses) == [200] + [412] * (RACERS - 1)
    stored = client.get_object(Bucket=bucket, Key="wal/1")["Body"].read()
    assert stored == b"racer %d" % statuses.index(200)  # the winner's bytes, not overwritten


@pytest.mark.usefixtures("wide_gap")
def test_racing_swaps_from_one_etag_let_exactly_one_win(moto_server: str) -> None:
    client, bucket = _bucket(moto_server)
    etag = client.put_object(Bucket=bucket, Key="pointer", Body=b"v0")["ETag"]

    def swap(i: int) -> None:
        client.put_object(Bucket=bucket, Key="pointer", Body=b"v1 of %d" % i, IfMatch=etag)

    statuses = _race(swap)
    assert sorted(statuses) == [200] + [412] * (RACERS - 1)
    stored = client.get_object(Bucket=bucket, Key="pointer")["Body"].read()
    assert stored == b"v1 of %d" % statuses.index(200)
