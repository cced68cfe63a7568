"""Garbage collection deletes only what no live manifest references, after the grace period."""

from __future__ import annotations

import os
import time

import pytest

from elacsym_sql.catalog.store import ManifestStore
from tests.helpers import compact, connection, fold, rows


def _referenced(store, name: str) -> set[str]:
    manifest = ManifestStore(store).load_latest(name)
    return manifest.referenced_keys()


def _build_history(con) -> None:
    con.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)")
    for round_ in range(4):
        con.executemany("INSERT INTO kv VALUES (?, ?)", [(i, f"r{round_}") for i in range(50)])
        fold(con, "kv")
    con.execute("DELETE FROM kv WHERE id < 10")
    fold(con, "kv")
    compact(con, "kv")


def test_nothing_young_is_collected(make_settings):
    with connection(make_settings) as con:
        _build_history(con)
        store = con.database.engine.store
        keys = {o.key for o in store.list("kv/")}
        assert con.database.engine.collect_garbage("kv") == 0
        assert {o.key for o in store.list("kv/")} == keys


def test_old_unreferenced_objects_are_collected_and_data_survives(make_settings):
    with connection(make_settings) as con:
        _build_history(con)
        engine = con.database.engine
        store = engine.store
        grace = engine.settings.gc_grace_seconds
        before = {o.key for o in store.list("kv/")}
        deleted = engine.collect_garbage("kv", now=time.time() + grace + 5)
        after = {o.key for o in store.list("kv/")}
        assert deleted == len(before - after) > 0
        assert _referenced(store, "kv") <= after  # nothing referenced is gone
        assert not any("/wal/" in k for k in after)  # every WAL record was folded
        assert any(k.endswith("/manifest/latest") for k in after)
    with connection(make_settings) as fresh:
        assert rows(fresh, "SELECT count(*), min(id), min(v) FROM kv") == [(40, 10, "r3")]
        fresh.execute("INSERT INTO kv VALUES (1, 'again')")
        fold(fresh, "kv")
        assert rows(fresh, "SELECT v FROM kv WHERE id = 1") == [("again",)]


def test_unfolded_wal_is_never_collected(make_settings):
    with connection(make_settings) as con:
        _build_history(con)
        con.execute("INSERT INTO kv VALUES (999, 'tail')")  # not folded
        engine = con.database.engine
        engine.collect_garbage("kv", now=time.time() + engine.settings.gc_grace_seconds + 5)
    with connection(make_settings) as fresh:
        assert rows(fresh, "SELECT v FROM kv WHERE id = 999") == [("tail",)]


# Object ages can be set only on the local backend; the logic under test is shared.
@pytest.mark.parametrize("backend", ["local"])
def test_objects_of_a_recently_replaced_manifest_are_kept(make_settings, backend):
    with connection(make_settings) as con:
        _build_history(con)
        engine = con.database.engine
        store = engine.store
        grace = engine.settings.gc_grace_seconds
        old = time.time() - 10 * grace
        for info in store.list("kv/"):  # everything written long ago ...
            os.utime(os.path.join(store.root, info.key), (old, old))
        previous = ManifestStore(store).load_latest("kv")
        con.execute("INSERT INTO kv VALUES (500, 'x')")
        fold(con, "kv")  # ... but the previous manifest was replaced just now
        compact(con, "kv")
        engine.collect_garbage("kv")
        remaining = {o.key for o in store.list("kv/")}
        assert previous.referenced_keys() <= remaining


def test_dropped_namespace_is_collected(make_settings):
    with connection(make_settings) as con:
        _build_history(con)
        con.execute("DROP TABLE kv")
        engine = con.database.engine
        engine.collect_garbage("kv", now=time.time() + engine.settings.gc_grace_seconds + 5)
        left = {o.key for o in engine.store.list("kv/")}
        assert not any("/segments/" in k or "/wal/" in k for k in left)
        assert "kv" not in engine.list_namespaces()
