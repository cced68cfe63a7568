"""Group commit (decision 0076): blind writes that threads of one process make to one
namespace at the same time share one WAL object; each is still all-or-nothing, a later one
wins per key over an earlier one, a failing one fails alone, and one computed against a
schema that changed meanwhile is computed again instead of joining.

The deterministic tests hold the namespace's write lock, which a batch's leader needs, so
that statements queue up behind it; the threaded ones write as many clients would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pytest

from elacsym_sql.engine import EngineApi
from elacsym_sql.errors import CheckViolation, NotNullViolation, QueryCanceled, UniqueViolation
from elacsym_sql.interrupts import checking
from elacsym_sql.sql import Connection, Database
from tests.helpers import connection, rows

THREADS, PER_THREAD = 32, 10


def _wait_until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def _queued_behind_the_lock(con: Connection, name: str, jobs: list[Callable[[], object]]) -> list:
    """Run `jobs` on threads while this thread holds `name`'s write lock, each queued before
    the next starts (so their order is known), then let them commit; their results."""
    ns = con.database.engine.namespace(name)
    pool = ThreadPoolExecutor(len(jobs))
    try:
        with ns.write_lock:
            futures = []
            for i, job in enumerate(jobs):
                futures.append(pool.submit(job))
                _wait_until(lambda i=i: ns.group.waiting == i + 1, f"statement {i} to queue")
        return [f.result(timeout=60) for f in futures]
    finally:
        pool.shutdown()


def _wal_puts(con: Connection, name: str) -> int:
    counts = con.database.engine.store.requests_of(name)
    return counts["conditional_put"] + counts["put"]


def test_statements_queued_behind_a_batch_share_one_wal_object(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
        api = EngineApi(con.database.engine)
        stats = api.stats("t")
        puts = _wal_puts(con, "t")
        jobs = [lambda i=i: api.upsert("t", [{"id": i, "v": f"row {i}"}]) for i in range(8)]
        assert _queued_behind_the_lock(con, "t", jobs) == [1] * 8
        assert _wal_puts(con, "t") - puts == 1  # one WAL object for the eight statements
        after = api.stats("t")
        assert after["wal_batches"] - stats["wal_batches"] == 1
        assert after["batched_writes"] - stats["batched_writes"] == 8
        assert rows(con, "SELECT id, v FROM t ORDER BY id") == [(i, f"row {i}") for i in range(8)]
        got = rows(
            con, "SELECT wal_batches, batched_writes, namespace_puts FROM elacsym_stats('t')"
        )
        assert got[0][:2] == (after["wal_batches"], after["batched_writes"])


def test_a_later_statement_of_a_batch_wins_per_key(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO t VALUES (2, 'stored'), (4, 'stored')")
        engine = con.database.engine
        ns = engine.namespace("t")
        schema = ns.snapshot().schema
        api = EngineApi(engine)
        before = ns.snapshot().tail_seq

        def delete(key: int) -> Callable[[], int]:
            return lambda: ns.append_grouped("delete", pa.table({"id": [key]}), schema)

        def upsert(key: int, v: str) -> Callable[[], int]:
            return lambda: api.upsert("t", [{"id": key, "v": v}])

        jobs = [
            upsert(1, "first"),
            upsert(1, "second"),  # overrides the first
            delete(2),  # a stored row
            upsert(3, "written"),
            delete(3),  # deletes what the batch wrote before it
            delete(4),
            upsert(4, "again"),  # writes what the batch deleted before it
        ]
        _queued_behind_the_lock(con, "t", jobs)
        snap = ns.snapshot()
        assert snap.tail_seq == before + 1
        records = [r for seq, r in snap.tail.records if seq == snap.tail_seq]
        # One object: its records never name a key twice (readers may apply them in any
        # order within the object).
        keys = [k for r in records for k in r.table.column("id").to_pylist()]
        assert sorted(keys) == [1, 2, 3, 4]
        assert rows(con, "SELECT id, v FROM t ORDER BY id") == [(1, "second"), (4, "again")]


def test_a_statement_computed_against_an_old_schema_is_computed_again(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
        api = EngineApi(con.database.engine)
        ns = con.database.engine.namespace("t")
        schema = ns.snapshot().schema
        # The lock is released before the pool waits for its threads (they need it).
        with ThreadPoolExecutor(2) as pool, ns.write_lock:
            old = pool.submit(api.upsert, "t", [{"id": 1, "v": "old schema"}])
            _wait_until(lambda: ns.group.waiting == 1, "the first statement to queue")
            # The schema changes (this thread holds the lock the change takes too).
            con.execute("COMMENT ON TABLE t IS 'changed'")
            assert ns.snapshot().schema != schema
            new = pool.submit(api.upsert, "t", [{"id": 2, "v": "new schema"}])
            _wait_until(lambda: ns.group.waiting == 2, "the second statement to queue")
        assert old.result(timeout=60) == 1
        assert new.result(timeout=60) == 1  # not failed by its batch-mate's old schema
        assert rows(con, "SELECT id, v FROM t ORDER BY id") == [
            (1, "old schema"),
            (2, "new schema"),
        ]
        assert api.stats("t")["wal_batches"] == 2  # the first went again, alone


def test_a_unique_index_made_while_a_write_is_queued_checks_it(make_settings):
    """A blind INSERT queued before CREATE UNIQUE INDEX is checked against the index: its
    schema changed, so it is evaluated again, now as a statement that reads the rows."""
    with connection(make_settings) as con:
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO t VALUES (1, 'a')")
        ns = con.database.engine.namespace("t")
        other = Connection(con.database, owns_database=False)
        with ThreadPoolExecutor(1) as pool, ns.write_lock:
            dup = pool.submit(other.execute, "INSERT INTO t VALUES (2, 'a')")
            _wait_until(lambda: ns.group.waiting == 1, "the INSERT to queue")
            con.execute("CREATE UNIQUE INDEX t_v ON t (v)")
        with pytest.raises(UniqueViolation):
            dup.result(timeout=60)
        other.close()
        assert rows(con, "SELECT id, v FROM t") == [(1, "a")]


def test_a_canceled_statement_leaves_the_queue_and_writes_nothing(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
        api = EngineApi(con.database.engine)
        ns = con.database.engine.namespace("t")
        stop = threading.Event()

        def canceled_write() -> int:
            def check() -> None:
                if stop.is_set():
                    raise QueryCanceled("canceling statement due to user request")

            with checking(check):
                return api.upsert("t", [{"id": 2, "v": "canceled"}])

        # The lock is released before the pool waits for its threads (they need it).
        with ThreadPoolExecutor(2) as pool, ns.write_lock:
            leader = pool.submit(api.upsert, "t", [{"id": 1, "v": "kept"}])
            _wait_until(lambda: ns.group.waiting == 1, "the leader to queue")
            canceled = pool.submit(canceled_write)
            _wait_until(lambda: ns.group.waiting == 2, "the second statement to queue")
            stop.set()
            with pytest.raises(QueryCanceled):
                canceled.result(timeout=60)
            assert ns.group.waiting == 1
        assert leader.result(timeout=60) == 1
        assert rows(con, "SELECT id, v FROM t") == [(1, "kept")]


@pytest.mark.parametrize("door", ["sql", "engine"])
def test_many_threads_one_namespace_no_conflicts_far_fewer_puts(make_settings, door):
    """32 threads, single-row writes: none fails with 40001, every acknowledged row is there
    once, failing statements fail alone, and the WAL takes far fewer objects than writes."""
    # CHECK is SQL's to evaluate: the engine refuses tables with one, and writes NOT NULL.
    check_n = " CHECK (n >= 0)" if door == "sql" else ""
    with connection(make_settings) as setup:
        setup.execute(
            f"CREATE TABLE t (id BIGINT PRIMARY KEY, w BIGINT NOT NULL, n BIGINT{check_n})"
        )
    db = Database(make_settings())
    try:
        check = Connection(db, owns_database=False)
        puts = _wal_puts(check, "t")
        start = threading.Barrier(THREADS, timeout=60)
        api = EngineApi(db.engine)

        def write(w: int) -> tuple[list[int], list[str]]:
            con = Connection(db, owns_database=False)
            acked, failed = [], []
            start.wait()
            for i in range(PER_THREAD):
                key = w * 1000 + i
                bad = (w + i) % 7 == 0  # about one statement in seven breaks a constraint
                row = {"id": key, "w": None if bad and door == "engine" else w, "n": i}
                if bad and door == "sql":
                    row["n"] = -1
                try:
                    if door == "sql":
                        con.execute(
                            "INSERT INTO t VALUES (?, ?, ?)", [row["id"], row["w"], row["n"]]
                        )
                    else:
                        api.upsert("t", [row])
                except (CheckViolation, NotNullViolation) as exc:
                    assert bad, exc
                    failed.append(exc.sqlstate)
                    continue
                assert not bad
                acked.append(key)
            con.close()
            return acked, failed

        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(write, range(THREADS)))
        acked = sorted(k for a, _ in results for k in a)
        failed = [s for _, f in results for s in f]
        bad = sum((w + i) % 7 == 0 for w in range(THREADS) for i in range(PER_THREAD))
        assert len(failed) == bad and set(failed) == {"23514" if door == "sql" else "23502"}
        assert len(acked) == THREADS * PER_THREAD - bad
        assert [k for (k,) in rows(check, "SELECT id FROM t ORDER BY id")] == acked
        wal_puts = _wal_puts(check, "t") - puts
        assert wal_puts <= len(acked) / 2, f"{wal_puts} WAL objects for {len(acked)} writes"
        check.close()
    finally:
        db.close()
