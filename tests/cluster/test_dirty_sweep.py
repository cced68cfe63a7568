"""An owner's periodic sweep is one LIST of the dirty markers (decision 0086): it folds what
other processes wrote to its namespaces with no traffic of its own, and an idle owned
namespace costs its owner no request."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable

import pytest

import elacsym_sql
from elacsym_sql.cluster import ClusterNode
from elacsym_sql.layout import CLUSTER_DIRTY, NAMESPACE_MARKERS, namespace_of
from elacsym_sql.testing.faulty_s3 import FaultyS3Proxy
from elacsym_sql.testing.s3servers import MOTO_KEY, MOTO_SECRET, s3_client
from tests.cluster.nodes import start_node, wait_for
from tests.helpers import connection, rows

SWEEP = 0.5
# The owner's and the writer's: markers live 0.5 + 1 + 2 (clocks) + 0.5 = 4 s.
MARKS = {"owner_sweep_seconds": SWEEP, "dirty_mark_seconds": 0.5, "storage_deadline_seconds": 1}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["s3"])
def test_the_owner_folds_an_embedded_writers_writes_without_traffic(
    make_settings, tmp_path, moto_server
):
    settings = make_settings()
    _, _, bucket, root = settings.data.split("/", 3)
    client = s3_client(moto_server, MOTO_KEY, MOTO_SECRET)

    def keys(prefix: str) -> list[str]:
        found = client.list_objects_v2(Bucket=bucket, Prefix=f"{root}/{prefix}")
        return [o["Key"] for o in found.get("Contents", [])]

    def version() -> int:  # of t's newest manifest (the collector removes older ones)
        return max(int(k.rsplit("/", 1)[1].removesuffix(".json")) for k in keys("t/manifest/0"))

    owner = start_node(
        settings,
        "a",
        tmp_path,
        heartbeat_seconds=0.2,
        heartbeat_ttl_seconds=2,
        gc_grace_seconds=8,  # longer than a marker lives: collected without being asked
        manifest_refresh_seconds=0.5,
        **MARKS,
    )
    # An embedded process that does not fold (the owner must) and knows of no cluster.
    mine = dataclasses.asdict(settings) | {"cache_dir": str(tmp_path / "embedded"), **MARKS}
    writer = elacsym_sql.connect(**mine | {"indexer": False})
    try:
        writer.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
        writer.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x") for i in range(20)])
        assert keys(CLUSTER_DIRTY) == [f"{root}/{CLUSTER_DIRTY}t"]
        # Folded within a bounded number of sweep periods (the old sweep came every 60 s).
        wait_for(lambda: version() == 2, 40 * SWEEP, "the owner's fold")
        assert rows(writer, "SELECT count(*) FROM t") == [(20,)]
        # The owner collects the folded WAL a grace period after its fold, unasked...
        wait_for(lambda: not keys("t/wal/"), 60, "the owner's collection")
        # ...and deletes the marker once it is past its lifetime.
        wait_for(lambda: not keys(CLUSTER_DIRTY), 60, "the marker's expiry")
        writer.execute("INSERT INTO t VALUES (100, 'later')")  # marks again
        assert keys(CLUSTER_DIRTY) == [f"{root}/{CLUSTER_DIRTY}t"]
        wait_for(lambda: version() == 3, 40 * SWEEP, "the second fold")
        assert rows(writer, "SELECT count(*) FROM t") == [(21,)]
    finally:
        writer.close()
        owner.stop()


NAMES = [f"idle{i}" for i in range(5)]


def _requests(engine, name: str) -> int:
    return sum(engine.store.requests_of(name).values())


def _settled(counts: Callable[[], dict[str, int]]) -> dict[str, int]:
    """`counts()` once it stays the same for a second (the garbage collection that follows
    a fold may still be under way)."""
    last = counts()
    while True:
        time.sleep(1)
        now = counts()
        if now == last:
            return now
        last = now


@pytest.mark.parametrize("backend", ["s3"])
def test_an_idle_owner_lists_once_a_period_and_asks_nothing_per_namespace(
    make_settings, moto_server
):
    with FaultyS3Proxy(moto_server) as proxy:
        settings = make_settings(
            s3_endpoint=proxy.endpoint,
            cluster=True,
            node_id="a",
            indexer=True,
            heartbeat_seconds=0.2,
            heartbeat_ttl_seconds=2,
            idle_watch_seconds=1,
            fold_interval_seconds=0.1,
            **MARKS,
        )
        root = settings.data.split("/", 3)[3]
        with connection(lambda **kw: settings) as con:
            engine = con.database.engine
            node = ClusterNode(engine, settings).start(None)
            try:
                for name in NAMES:  # written through their owner: no markers
                    con.execute(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, v TEXT)")
                    con.executemany(f"INSERT INTO {name} VALUES (?, ?)", [(1, "x"), (2, "y")])
                    assert rows(con, f"SELECT count(*) FROM {name}") == [(2,)]
                assert engine.dirty.listed() == []
                # Folded (as last read here: no request), and the watches over.
                wait_for(lambda: not any(engine.namespace(n).cached().tail.records for n in NAMES))
                wait_for(lambda: not any(engine.background.awake(n) for n in NAMES), 60)
                counted = _settled(lambda: {n: _requests(engine, n) for n in NAMES})
                at_server, started = proxy.keys_requested(), time.monotonic()
                time.sleep(8 * SWEEP)
                at_server = proxy.keys_requested() - at_server
                elapsed = time.monotonic() - started
                after = {n: _requests(engine, n) for n in NAMES}
            finally:
                node.stop()
    assert after == counted  # no request for any idle namespace, as the store counts...
    by_namespace = Counter(namespace_of(k.removeprefix(root + "/")) for k in at_server.elements())
    assert not any(by_namespace[n] for n in NAMES), at_server  # ...and as the S3 server saw
    dirty_lists = at_server[f"{root}/{CLUSTER_DIRTY}"]
    assert 2 <= dirty_lists <= elapsed / SWEEP + 1  # the per-node sweep: one LIST a period
    assert at_server[f"{root}/{NAMESPACE_MARKERS}"] == 0  # no full sweep: owners unchanged
