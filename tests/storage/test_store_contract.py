"""The ObjectStore contract, on the local directory, moto S3 and SeaweedFS."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from elacsym_sql.config import Settings
from elacsym_sql.errors import InvalidParameterValue, StorageError
from elacsym_sql.storage import ObjectNotFound, ObjectStore, PreconditionFailed, open_store


@pytest.fixture(
    params=["local", "s3", pytest.param("seaweedfs", marks=pytest.mark.seaweedfs)],
)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(0..n-1) on n threads released together; results or exceptions, in order."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_put_get_round_trip(store: ObjectStore) -> None:
    store.put("a/b/obj.bin", b"hello")
    assert store.get("a/b/obj.bin") == b"hello"
    data, etag = store.get_with_etag("a/b/obj.bin")
    assert data == b"hello"
    assert etag and '"' not in etag
    store.put("a/b/obj.bin", b"")  # overwrite, empty object
    assert store.get("a/b/obj.bin") == b""
    assert store.exists("a/b/obj.bin")


def test_bytes_like_payloads(store: ObjectStore) -> None:
    frame = memoryview(b"--payload--")[2:-2]  # what zero-copy framing hands over
    store.put("m1", frame)
    store.put_if_absent("m2", frame)
    etag = store.put_if_match("m3", frame, None)
    store.put_if_match("m3", memoryview(bytearray(b"next")), etag)
    assert [store.get(k) for k in ("m1", "m2", "m3")] == [b"payload", b"payload", b"next"]


def test_missing_key(store: ObjectStore, tmp_path: Any) -> None:
    with pytest.raises(ObjectNotFound):
        store.get("nope")
    with pytest.raises(ObjectNotFound):
        store.get_with_etag("nope")
    with pytest.raises(ObjectNotFound):
        store.get_range("nope", 0, 10)
    with pytest.raises(ObjectNotFound):
        store.download("nope", str(tmp_path / "x"))
    assert not store.exists("nope")


def test_put_if_absent_twice(store: ObjectStore) -> None:
    store.put_if_absent("wal/1", b"first")
    with pytest.raises(PreconditionFailed):
        store.put_if_absent("wal/1", b"second")
    assert store.get("wal/1") == b"first"


def test_put_if_absent_race_has_one_winner(store: ObjectStore) -> None:
    results = _race(16, lambda i: store.put_if_absent("wal/race", f"writer {i}".encode()))
    winners = [i for i, r in enumerate(results) if r is None]
    assert len(winners) == 1, results
    assert all(isinstance(r, PreconditionFailed) for r in results if r is not None), results
    assert store.get("wal/race") == f"writer {winners[0]}".encode()


def test_put_if_match(store: ObjectStore) -> None:
    etag1 = store.put_if_match("ptr", b"v1", None)  # create
    assert store.get_with_etag("ptr") == (b"v1", etag1)
    etag2 = store.put_if_match("ptr", b"v2", etag1)
    assert etag2 != etag1
    assert store.get_with_etag("ptr") == (b"v2", etag2)
    with pytest.raises(PreconditionFailed):  # stale etag
        store.put_if_match("ptr", b"v3", etag1)
    with pytest.raises(PreconditionFailed):  # create, but it exists
        store.put_if_match("ptr", b"v3", None)
    assert store.get("ptr") == b"v2"


def test_put_if_match_on_missing_key(store: ObjectStore) -> None:
    etag = store.put_if_match("other", b"x", None)
    with pytest.raises(PreconditionFailed):
        store.put_if_match("missing", b"y", etag)
    assert not store.exists("missing")


def test_cas_race_loses_no_increment(store: ObjectStore) -> None:
    store.put_if_match("counter", b"0", None)
    threads, increments = 8, 4

    def worker(_: int) -> int:
        retries = 0
        for _ in range(increments):
            while True:
                data, etag = store.get_with_etag("counter")
                try:
                    store.put_if_match("counter", str(int(data) + 1).encode(), etag)
                    break
                except PreconditionFailed:
                    retries += 1
        return retries

    results = _race(threads, worker)
    assert all(isinstance(r, int) for r in results), results
    assert int(store.get("counter")) == threads * increments


def test_get_range(store: ObjectStore) -> None:
    store.put("r", b"0123456789")
    assert store.get_range("r", 3, 4) == b"3456"
    assert store.get_range("r", 0, 10) == b"0123456789"
    assert store.get_range("r", 7, 100) == b"789"  # runs past the end
    assert store.get_range("r", 10, 5) == b""  # starts at the end
    assert store.get_range("r", 50, 5) == b""  # starts past the end
    assert store.get_range("r", 2, 0) == b""


def test_list_prefix_and_start_after(store: ObjectStore) -> None:
    keys = ["ns/wal/003", "ns/wal/001", "ns/wal/002", "ns/manifest/latest", "ns2/wal/001"]
    for i, key in enumerate(keys):
        store.put(key, b"x" * i)
    listed = list(store.list("ns/wal/"))
    assert [o.key for o in listed] == ["ns/wal/001", "ns/wal/002", "ns/wal/003"]
    assert [o.size for o in listed] == [1, 2, 0]
    assert all(o.mtime > 0 for o in listed)
    assert [o.key for o in store.list("ns/wal/", start_after="ns/wal/001")] == [
        "ns/wal/002",
        "ns/wal/003",
    ]
    assert [o.key for o in store.list("ns/wal/", start_after="ns/wal/003")] == []
    assert [o.key for o in store.list("ns")] == sorted(keys)
    assert list(store.list("absent/")) == []


def test_list_paginates_past_1000(store: ObjectStore) -> None:
    n = 1010
    keys = [f"many/{i:05d}" for i in range(n)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: store.put(k, b""), keys))
    store.request_counts.clear()
    assert [o.key for o in store.list("many/")] == keys
    if store.uri.startswith("s3://"):
        assert store.request_counts["list"] == 2  # 1000 + 10
    tail = [o.key for o in store.list("many/", start_after=keys[5])]
    assert tail == keys[6:]


def test_delete(store: ObjectStore) -> None:
    store.put("d", b"x")
    store.delete("d")
    assert not store.exists("d")
    with pytest.raises(ObjectNotFound):
        store.get("d")
    store.delete("d")  # already gone: fine
    store.delete("never/existed")


def test_delete_if_unchanged(store: ObjectStore) -> None:
    # What an owner does with an expired dirty marker (decision 0086); S3 and SeaweedFS
    # honour If-Match on DELETE.
    store.put("m/k", b"first")
    (first,) = store.list("m/")
    store.put("m/k", b"again")  # written again after the listing (LastModified may be equal)
    assert store.delete_if_unchanged(first) is False
    assert store.get("m/k") == b"again"  # the newer object stays
    (again,) = store.list("m/")
    assert store.delete_if_unchanged(again) is True
    assert not store.exists("m/k")
    assert store.delete_if_unchanged(again) is False  # gone


def test_download(store: ObjectStore, tmp_path: Any) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB
    store.put("blob.bin", payload)
    target = tmp_path / "blob.bin"
    store.request_counts.clear()
    store.download("blob.bin", str(target))
    assert target.read_bytes() == payload
    assert store.request_counts["get"] == 1
    assert store.request_counts["head"] == 0
    store.put("empty", b"")
    store.download("empty", str(tmp_path / "empty"))
    assert (tmp_path / "empty").read_bytes() == b""


def test_request_counts(store: ObjectStore) -> None:
    store.request_counts.clear()
    store.put("c", b"1")
    store.put_if_absent("c2", b"1")
    assert store.request_counts["put"] == 2
    store.get("c")
    store.get_range("c", 0, 1)
    assert store.request_counts["get"] == 2
    assert store.exists("c")
    assert store.request_counts["head"] == 1
    list(store.list(""))
    assert store.request_counts["list"] == 1
    store.delete("c")
    assert store.request_counts["delete"] == 1


# -- S3 specifics -------------------------------------------------------------------------


@pytest.fixture
def s3_settings(backend: str, make_settings: Callable[..., Settings]) -> Settings:
    if backend == "local":
        pytest.skip("S3 only")
    return make_settings()


def _lose_first_response(store: Any, write: Callable[[], object]) -> None:
    """Make the next PutObject of `store` land (via `write`) but lose its response."""
    fired = []

    def handler(request: Any, **_: Any) -> None:
        if not fired:
            fired.append(True)
            write()
            raise ReadTimeoutError(endpoint_url=request.url)

    store.client.meta.events.register_first("before-send.s3.PutObject", handler)


def test_conditional_put_whose_response_was_lost(s3_settings: Settings) -> None:
    # The store retries a timed-out PUT; the retry then fails its precondition against
    # our own first attempt. The store must see that the write is ours and succeed.
    store, other = open_store(s3_settings), open_store(s3_settings)
    _lose_first_response(store, lambda: other.put("wal/7", b"batch"))
    store.put_if_absent("wal/7", b"batch")
    assert store.request_counts["get"] == 1  # the read that proved the write ours

    etag0 = store.put_if_match("ptr", b"v0", None)
    store2 = open_store(s3_settings)
    _lose_first_response(store2, lambda: other.put_if_match("ptr", b"v1", etag0))
    etag1 = store2.put_if_match("ptr", b"v1", etag0)
    assert store.get_with_etag("ptr") == (b"v1", etag1)

    # Someone else's bytes there: a genuine loss.
    store3 = open_store(s3_settings)
    _lose_first_response(store3, lambda: other.put("wal/8", b"theirs"))
    with pytest.raises(PreconditionFailed):
        store3.put_if_absent("wal/8", b"ours")


def test_missing_bucket_is_not_a_missing_key(s3_settings: Settings) -> None:
    store = open_store(dataclasses.replace(s3_settings, data="s3://no-such-bucket-here/x"))
    with pytest.raises(StorageError) as info:
        store.get("k")
    assert not isinstance(info.value, ObjectNotFound)
    assert "no-such-bucket-here" in str(info.value)


def test_wrong_credentials(backend: str, s3_settings: Settings) -> None:
    if backend != "seaweedfs":
        pytest.skip("moto accepts any key")
    store = open_store(dataclasses.replace(s3_settings, s3_secret_access_key="wrong"))
    with pytest.raises(StorageError, match="403"):
        store.put("k", b"x")
    with pytest.raises(StorageError, match="403"):
        store.exists("k")


def test_bad_uri() -> None:
    with pytest.raises(InvalidParameterValue):
        open_store(Settings(data="s3:///nobucket"))
