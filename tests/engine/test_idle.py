"""Idle namespaces cost no object-store requests (issue 11 item 7, decision 0060).

Over moto via HTTP, behind a counting proxy: what the S3 server received per namespace is
compared with what the store counted per namespace (elacsym_stats' numbers) and with the
bound the look schedule allows.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from elacsym_sql.engine.background import look_schedule
from elacsym_sql.layout import namespace_of
from elacsym_sql.testing.faulty_s3 import FaultyS3Proxy
from elacsym_sql.testing.s3servers import MOTO_KEY, MOTO_SECRET, s3_client
from tests.helpers import connection, rows

NAMES = [f"idle{i}" for i in range(5)]
# A look is one GET of the next WAL object, plus two when the cached manifest is older
# than manifest_refresh_seconds: the pointer, and the version after the one it names (a
# committer may have died before moving the pointer).
REQUESTS_PER_LOOK = 3
# At most one garbage collection may fall in the watch (traffic came after the last one):
# two listings and a GET of each manifest version (create, fold), nothing old to delete.
GC_PASS = 2 + 2


@pytest.fixture
def backend() -> str:
    return "s3"


@pytest.fixture
def proxy(moto_server: str) -> Iterator[FaultyS3Proxy]:
    with FaultyS3Proxy(moto_server) as p:
        yield p


def _wait_for(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _at_server(proxy: FaultyS3Proxy, root: str) -> Counter[str]:
    """Requests the S3 server received, by namespace."""
    out: Counter[str] = Counter()
    for key, n in proxy.keys_requested().items():
        if key.startswith(root + "/"):
            out[namespace_of(key[len(root) + 1 :]) or "(root)"] += n
    return out


def _counted(con, name: str) -> int:
    return sum(con.database.engine.store.requests_of(name).values())


def _settled(proxy: FaultyS3Proxy, root: str, con) -> tuple[Counter[str], dict[str, int]]:
    """Both counts once they hold still: a request is counted here when it is sent and at
    the server when it arrives, so the last look may be in flight when its namespace goes
    to sleep."""
    last = None
    while True:
        now = _at_server(proxy, root), {n: _counted(con, n) for n in NAMES}
        if now == last:
            return now
        last = now
        time.sleep(0.5)


@pytest.mark.parametrize(
    "watch", [4.0, pytest.param(60.0, marks=pytest.mark.slow)], ids=["watch4s", "watch60s"]
)
def test_idle_namespaces_cost_only_the_looks_then_nothing(make_settings, proxy, watch):
    settings = make_settings(
        s3_endpoint=proxy.endpoint,
        indexer=True,
        idle_watch_seconds=watch,
        fold_interval_seconds=0.2,
    )
    root = settings.data.split("/", 3)[3]
    with connection(lambda **kw: settings) as con:
        engine = con.database.engine
        for name in NAMES:
            con.execute(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, v TEXT)")
            con.executemany(f"INSERT INTO {name} VALUES (?, ?)", [(i, "x") for i in range(50)])
        # The background folds what this process wrote (work, not idleness)...
        _wait_for(lambda: all(not engine.namespace(n).cached().tail.records for n in NAMES))
        for name in NAMES:  # ...then one strong read each: the last traffic
            assert rows(con, f"SELECT count(*) FROM {name}") == [(50,)]
        server_before = _at_server(proxy, root)
        counted_before = {n: _counted(con, n) for n in NAMES}
        _wait_for(lambda: not any(engine.background.awake(n) for n in NAMES), watch + 60)
        server_watch, counted_watch = _settled(proxy, root, con)  # the last look answered
        time.sleep(6)  # a dozen background ticks: an idle namespace must cost nothing now
        server_after = _at_server(proxy, root)
        counted_after = {n: _counted(con, n) for n in NAMES}
        listed = rows(con, "SELECT name FROM elacsym_namespaces()")
        assert sorted(n for (n,) in listed) == NAMES
        assert not any(engine.background.awake(n) for n in NAMES)  # listing is no traffic
    bound = len(look_schedule(watch)) * REQUESTS_PER_LOOK + GC_PASS
    for name in NAMES:
        looks = server_watch[name] - server_before[name]
        assert 1 <= looks <= bound, (name, looks, bound)
        assert counted_watch[name] - counted_before[name] == looks  # the store counts them all
        assert server_after[name] == server_watch[name], name  # asleep: nothing more
        assert counted_after[name] == counted_watch[name], name


def test_a_strong_read_costs_one_request_beyond_the_cache(make_settings, proxy):
    # No background thread: every request counted here is the reads' own.
    settings = make_settings(s3_endpoint=proxy.endpoint, indexer=False)
    with connection(lambda **kw: settings) as con:
        engine = con.database.engine
        con.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)")
        con.executemany("INSERT INTO kv VALUES (?, ?)", [(i, "x") for i in range(20)])
        engine.fold("kv")
        assert rows(con, "SELECT count(*) FROM kv") == [(20,)]  # warm: manifest, segment
        store = engine.store
        at_server = proxy.requests
        before, total_before = store.requests_of("kv"), sum(store.request_counts.values())
        assert rows(con, "SELECT count(*) FROM kv") == [(20,)]
        assert store.requests_of("kv") - before == Counter(get=1)  # the probe: no next WAL
        assert sum(store.request_counts.values()) - total_before == 1  # nothing elsewhere
        assert proxy.requests - at_server == 1  # and the S3 server got just that one
        con.execute("SET elacsym.consistency = 'eventual'")
        eventual = store.requests_of("kv")
        assert rows(con, "SELECT count(*) FROM kv") == [(20,)]
        assert store.requests_of("kv") == eventual  # an eventual read: no request at all
        assert proxy.requests - at_server == 1


def test_a_strong_read_with_a_stale_manifest_costs_three(make_settings, proxy):
    # Every read finds its manifest stale: the pointer (naming the version held, which is
    # not read again), a probe past it, and the WAL probe.
    settings = make_settings(s3_endpoint=proxy.endpoint, manifest_refresh_seconds=0.001)
    with connection(lambda **kw: settings) as con:
        store = con.database.engine.store
        con.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO kv VALUES (1, 'x')")
        assert rows(con, "SELECT count(*) FROM kv") == [(1,)]
        before = store.requests_of("kv")
        assert rows(con, "SELECT count(*) FROM kv") == [(1,)]
        assert store.requests_of("kv") - before == Counter(get=3)


def _gc_settings(make_settings, proxy):
    return make_settings(
        s3_endpoint=proxy.endpoint,
        indexer=True,
        idle_watch_seconds=1,
        fold_interval_seconds=0.1,
        manifest_refresh_seconds=0.5,
        gc_grace_seconds=2,
    )


def _lister(settings, moto_server: str) -> Callable[[str], list[str]]:
    """Keys under a namespace-relative prefix, listed at moto directly (not counted)."""
    _, _, bucket, root = settings.data.split("/", 3)
    client = s3_client(moto_server, MOTO_KEY, MOTO_SECRET)

    def keys(prefix: str) -> list[str]:
        found = client.list_objects_v2(Bucket=bucket, Prefix=f"{root}/{prefix}")
        return [o["Key"] for o in found.get("Contents", [])]

    return keys


def test_gc_runs_once_more_after_the_last_commit_then_never(make_settings, proxy, moto_server):
    """The last sweep: what the last fold replaced is collected a grace period later with no
    traffic; after that the namespace costs nothing."""
    settings = _gc_settings(make_settings, proxy)
    keys = _lister(settings, moto_server)
    with connection(lambda **kw: settings) as con:
        engine = con.database.engine
        con.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO kv VALUES (1, 'x')")
        _wait_for(lambda: not engine.namespace("kv").cached().tail.records)  # folded
        assert keys("kv/wal/")
        _wait_for(lambda: not keys("kv/wal/"))  # collected with no traffic since the insert
        assert rows(con, "SELECT v FROM kv") == [("x",)]  # the row lives on in its segment
        _wait_for(lambda: not engine.background.awake("kv"))
        time.sleep(3)  # past another grace period: nothing is due any more
        quiet = _counted(con, "kv")
        time.sleep(3)
        assert _counted(con, "kv") == quiet


def test_a_dropped_namespace_is_collected_without_traffic(make_settings, proxy, moto_server):
    settings = _gc_settings(make_settings, proxy)
    keys = _lister(settings, moto_server)
    with connection(lambda **kw: settings) as con:
        engine = con.database.engine
        con.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO kv VALUES (1, 'x')")
        _wait_for(lambda: not engine.namespace("kv").cached().tail.records)  # folded
        con.execute("DROP TABLE kv")
        assert keys("kv/segments/")
        _wait_for(lambda: not keys("kv/segments/") and not keys("kv/wal/"))
