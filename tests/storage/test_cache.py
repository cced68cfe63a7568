"""DiskCache over the local and moto S3 backends."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from elacsym_sql.config import Settings
from elacsym_sql.storage import DiskCache, ObjectNotFound, ObjectStore, open_store


def _cached_bytes(cache: DiskCache) -> int:
    total = 0
    for dirpath, _, files in os.walk(cache.directory):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    return total


def test_hits_and_misses(store: ObjectStore, tmp_path: Path) -> None:
    cache = DiskCache(str(tmp_path / "c"), 1 << 20)
    store.put("seg/1/data.parquet", b"parquet bytes")
    path = cache.path(store, "seg/1/data.parquet")
    assert Path(path).read_bytes() == b"parquet bytes"
    assert path.endswith(".parquet")
    assert (cache.hits, cache.misses) == (0, 1)
    gets = store.request_counts["get"]
    assert cache.path(store, "seg/1/data.parquet") == path
    assert cache.get_bytes(store, "seg/1/data.parquet") == b"parquet bytes"
    assert (cache.hits, cache.misses) == (2, 1)
    assert store.request_counts["get"] == gets  # hits never touch the store
    stats = cache.stats()
    assert stats["hits"] == 2 and stats["misses"] == 1
    assert stats["entries"] == 1 and stats["bytes"] == len(b"parquet bytes")


def test_missing_object(store: ObjectStore, tmp_path: Path) -> None:
    cache = DiskCache(str(tmp_path / "c"), 1 << 20)
    with pytest.raises(ObjectNotFound):
        cache.path(store, "nope")
    assert _cached_bytes(cache) == 0  # no partial or temporary file left
    assert cache.stats()["entries"] == 0


def test_stores_do_not_collide(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    base = make_settings()
    a = open_store(base)
    if base.data.startswith("s3://"):
        b = open_store(make_settings(data=base.data + "-other"))
    else:
        b = open_store(make_settings(data=str(tmp_path / "other")))
    a.put("k", b"from a")
    b.put("k", b"from b")
    cache = DiskCache(str(tmp_path / "c"), 1 << 20)
    assert cache.get_bytes(a, "k") == b"from a"
    assert cache.get_bytes(b, "k") == b"from b"


def test_eviction_keeps_the_bound_in_lru_order(store: ObjectStore, tmp_path: Path) -> None:
    cache = DiskCache(str(tmp_path / "c"), 10_000)
    keys = [f"obj/{i}" for i in range(30)]
    for key in keys:
        store.put(key, key.encode().ljust(1000, b"."))
    cache.path(store, keys[0])
    for key in keys[1:]:
        path = cache.path(store, key)
        assert os.path.exists(path)  # the file just returned survives
        assert _cached_bytes(cache) <= 10_000
        cache.path(store, keys[0])  # keep the first one hot
    assert cache.stats()["evictions"] > 0
    assert cache.stats()["bytes"] == _cached_bytes(cache)
    misses = cache.misses
    assert cache.get_bytes(store, keys[0]).startswith(b"obj/0.")  # hot: still cached
    assert cache.misses == misses
    assert cache.get_bytes(store, keys[1]).startswith(b"obj/1.")  # cold: evicted long ago
    assert cache.misses == misses + 1


def test_object_larger_than_the_cache(store: ObjectStore, tmp_path: Path) -> None:
    cache = DiskCache(str(tmp_path / "c"), 100)
    store.put("small", b"s" * 50)
    store.put("big", b"b" * 500)
    cache.path(store, "small")
    path = cache.path(store, "big")
    assert Path(path).read_bytes() == b"b" * 500  # returned although over the bound
    assert _cached_bytes(cache) == 500  # and everything else made room


def test_concurrent_readers_of_one_key(store: ObjectStore, tmp_path: Path) -> None:
    payload = os.urandom(3 << 20)
    store.put("big.bin", payload)
    cache = DiskCache(str(tmp_path / "c"), 64 << 20)
    n = 8
    barrier = threading.Barrier(n)

    def read(_: int) -> bytes:
        barrier.wait()
        return cache.get_bytes(store, "big.bin")

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(read, range(n)))
    assert all(r == payload for r in results)
    assert cache.misses == 1  # one download; the others waited for it
    assert cache.hits == n - 1


def test_directory_shared_by_two_caches(store: ObjectStore, tmp_path: Path) -> None:
    # Two DiskCache objects on one directory stand in for two processes.
    first = DiskCache(str(tmp_path / "c"), 10_000)
    store.put("k", b"x" * 100)
    first.path(store, "k")
    second = DiskCache(str(tmp_path / "c"), 10_000)
    assert second.stats()["entries"] == 1  # found on startup
    assert second.get_bytes(store, "k") == b"x" * 100
    assert (second.hits, second.misses) == (1, 0)
    # One evicts what the other cached: the other notices and downloads it again.
    for i in range(12):
        store.put(f"fill/{i}", b"f" * 1000)
        second.path(store, f"fill/{i}")
    assert _cached_bytes(first) <= 10_000
    assert first.get_bytes(store, "k") == b"x" * 100
    assert first.misses == 2
