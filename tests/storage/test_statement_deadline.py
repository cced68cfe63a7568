"""Object-store retries end with the statement (decision 0044): a retry wait or a new
attempt after the statement's statement_timeout or cancel stops with 57014, until the
statement may have written something. A conditional write whose answer was lost is still
resolved by reading it back, and a write that landed is never reported as failed.

No wall clock is asserted. The store stays down until the test heals it, and heals only
after the statement has answered (or a generous guard has passed, so that a regression
fails instead of hanging): "ended while the store was still down" is the assertion.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest

import elacsym_sql
from elacsym_sql.config import Settings
from elacsym_sql.errors import QueryCanceled, StatementCompletionUnknown, StorageUnavailable
from elacsym_sql.interrupts import checking
from elacsym_sql.server import BackgroundServer
from elacsym_sql.server.statement_clock import StatementClock
from elacsym_sql.sql.session.commit_point import CommitPoint
from elacsym_sql.storage.s3 import S3Store
from elacsym_sql.testing.faulty_s3 import FaultyS3Proxy

FAILURES = ("error_500", "slow_down", "reset_before", "reset_after", "truncate")
FOREVER = 10_000  # scripted faults: more than any retry loop here meets before it is healed
GUARD_SECONDS = 60.0  # heal the store after this long anyway: a regression fails, not hangs
# Retries of one request would go on for this long: far past any statement's deadline.
LONG_DEADLINE = 2 * GUARD_SECONDS


def canceled() -> None:
    raise QueryCanceled("canceling statement due to user request")


@pytest.fixture
def store(flaky_settings: Callable[..., Settings]) -> Iterator[S3Store]:
    settings = flaky_settings(storage_deadline_seconds=LONG_DEADLINE)
    s = S3Store(settings.data, settings)
    yield s
    s.close()


# -- the store, with a statement's check installed -------------------------------------------


@pytest.mark.parametrize("kind", FAILURES)
def test_a_read_stops_with_the_statement(kind: str, store: S3Store, proxy: FaultyS3Proxy) -> None:
    store.put("k", b"v")
    proxy.fail_next(kind, times=FOREVER)

    def stop_after_three_faults() -> None:  # the statement is canceled while retrying
        if proxy.injected[kind] >= 3:
            canceled()

    with checking(stop_after_three_faults), pytest.raises(QueryCanceled):
        store.get("k")
    assert FOREVER - proxy.injected[kind] > 0  # still down: the read did not outwait it
    proxy.clear()
    assert store.get("k") == b"v"


def test_a_write_refused_before_it_was_done_stops_and_wrote_nothing(
    store: S3Store, proxy: FaultyS3Proxy
) -> None:
    # A 503 SlowDown is S3 refusing before doing anything. (A reset, even before the proxy
    # forwarded, looks to the client like a request that may have been done: retried on.)
    proxy.fail_next("slow_down", method="PUT", times=FOREVER)
    with checking(canceled), pytest.raises(QueryCanceled):
        store.put_if_absent("wal/1", b"x")
    with checking(canceled), pytest.raises(QueryCanceled):
        store.put("segment", b"x")
    proxy.clear()
    assert not store.exists("wal/1") and not store.exists("segment")


@pytest.mark.parametrize("kind", ["reset_after", "truncate", "error_500"])
def test_a_conditional_write_that_may_have_landed_is_resolved_not_canceled(
    kind: str, store: S3Store, proxy: FaultyS3Proxy
) -> None:
    # The statement is past its deadline from the start; the create lands (reset_after,
    # truncate) or may have (a 500), its answer is lost, and it is resolved all the same.
    proxy.fail_next(kind, method="PUT", times=3)
    with checking(canceled):
        store.put_if_absent("wal/7", b"batch")
    assert store.get("wal/7") == b"batch"


def test_an_unconfirmed_write_that_cannot_be_read_back_is_40003_not_57014(
    flaky_settings: Callable[..., Settings], proxy: FaultyS3Proxy
) -> None:
    settings = flaky_settings(storage_deadline_seconds=0.3)
    store = S3Store(settings.data, settings)
    proxy.fail_next("reset_after", method="PUT", times=FOREVER)  # lands, never confirmed
    proxy.fail_next("reset_before", method="GET", times=FOREVER)  # and cannot be read back
    with checking(canceled), pytest.raises(StatementCompletionUnknown):
        store.put_if_absent("wal/9", b"maybe")
    proxy.clear()
    assert store.get("wal/9") == b"maybe"


def test_once_a_statement_wrote_its_retries_run_to_their_own_deadline(
    store: S3Store, proxy: FaultyS3Proxy
) -> None:
    # E.g. a transaction's decision after its WAL objects, or its abort: never stopped.
    with checking(canceled):
        store.put("wal/1", b"x")  # landed: from now on the statement is not stopped here
        proxy.fail_next("slow_down", times=3)
        assert store.get("wal/1") == b"x"
        proxy.fail_next("reset_after", method="PUT", times=2)
        store.put_if_absent("txn/1", b"committed")
    assert store.get("txn/1") == b"committed"
    with checking(canceled):  # the next statement starts with nothing written
        proxy.fail_next("slow_down")
        with pytest.raises(QueryCanceled):
            store.get("wal/1")
        with checking(canceled):  # work nested in it: what it writes counts for it
            store.put("wal/2", b"y")
        proxy.fail_next("slow_down", times=2)
        assert store.get("wal/2") == b"y"


def test_without_a_statement_only_the_request_deadline_counts(
    flaky_settings: Callable[..., Settings], proxy: FaultyS3Proxy
) -> None:
    settings = flaky_settings(storage_deadline_seconds=0.3)
    store = S3Store(settings.data, settings)
    proxy.fail_next("slow_down", times=FOREVER)
    with pytest.raises(StorageUnavailable):
        store.get("k")


def test_a_40003_is_reported_as_it_is_after_a_timeout() -> None:
    # The server reports a statement that failed after its cancel as canceled, but a write
    # whose outcome is unknown may have landed: 57014 would say it did not.
    clock = StatementClock(lambda: None, CommitPoint())
    clock.start(1)
    clock.cancel("statement timeout")
    unknown = StatementCompletionUnknown("maybe")
    assert clock.explain(unknown) is unknown
    assert isinstance(clock.explain(StorageUnavailable("down")), QueryCanceled)


# -- SQL: a cancel from another thread, and statement_timeout over the wire ----------------


@contextmanager
def store_down_until_answered(proxy: FaultyS3Proxy, kind: str) -> Iterator[dict[str, bool]]:
    """Every request fails with `kind` until the block ends (or the guard passes); yields
    {"healed": ...}, read by the block once its statement answered."""
    state = {"healed": False}
    answered = threading.Event()

    def heal_later() -> None:
        answered.wait(GUARD_SECONDS)
        state["healed"] = True
        proxy.clear()

    proxy.fail_next(kind, times=FOREVER)
    healer = threading.Thread(target=heal_later)
    healer.start()
    try:
        yield state
    finally:
        answered.set()
        healer.join()


@pytest.fixture
def con(
    flaky_settings: Callable[..., Settings],
) -> Iterator[elacsym_sql.Connection]:
    c = elacsym_sql.connect(**vars(flaky_settings(storage_deadline_seconds=LONG_DEADLINE)))
    c.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT)")
    c.executemany("INSERT INTO t VALUES (?, ?)", [(i, i) for i in range(10)])
    yield c
    c.close()


def test_interrupt_stops_a_read_retrying_against_a_dead_store(
    con: elacsym_sql.Connection, proxy: FaultyS3Proxy
) -> None:
    cur = con.cursor()
    with store_down_until_answered(proxy, "error_500") as store:

        def interrupt_once_it_retries() -> None:
            while proxy.injected["error_500"] < 2 and not store["healed"]:
                threading.Event().wait(0.01)
            cur.interrupt()

        interrupter = threading.Thread(target=interrupt_once_it_retries)
        interrupter.start()
        with pytest.raises(QueryCanceled):
            cur.execute("SELECT id FROM t").fetchall()
        assert not store["healed"]
        interrupter.join()
    assert sorted(r[0] for r in cur.execute("SELECT id FROM t").fetchall()) == list(range(10))


@pytest.fixture
def dsn(con: elacsym_sql.Connection) -> Iterator[str]:
    with BackgroundServer(con.database) as server:
        yield f"host=127.0.0.1 port={server.port} user=tester dbname=e"


@pytest.mark.parametrize("kind", FAILURES)
def test_statement_timeout_ends_a_read_while_the_store_is_down(
    kind: str, dsn: str, proxy: FaultyS3Proxy
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO t VALUES (100, 100)")  # acknowledged before the outage
        conn.execute("SET statement_timeout = 300")
        with store_down_until_answered(proxy, kind) as store:
            with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
                conn.execute("SELECT id FROM t").fetchall()
            assert not store["healed"]  # it did not wait for the store to come back
        assert proxy.injected[kind] >= 1
        conn.execute("SET statement_timeout = 0")
        ids = sorted(r[0] for r in conn.execute("SELECT id FROM t").fetchall())
        assert ids == [*range(10), 100]  # nothing acknowledged is lost


@pytest.mark.parametrize("kind", ["reset_after", "truncate"])
def test_a_write_whose_create_landed_is_never_reported_failed(
    kind: str, dsn: str, proxy: FaultyS3Proxy
) -> None:
    # Only PUTs lose their answers (the row lands each time), for longer than the statement
    # may run: the statement must end in success, never 57014 for a row that is there.
    # On a loaded machine 100 ms may pass before the first PUT: then 57014 is right and
    # nothing may be written; the next key tries again.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 100")
        canceled = []
        for key in range(200, 210):
            proxy.clear()
            before = proxy.injected[kind]
            proxy.fail_next(kind, method="PUT", times=6)
            try:
                conn.execute("INSERT INTO t VALUES (%s, 1)", (key,))
            except psycopg.errors.QueryCanceled:
                assert proxy.injected[kind] == before, "57014 after the create was sent"
                canceled.append(key)
                continue
            assert proxy.injected[kind] - before == 6
            break
        else:
            pytest.fail("no INSERT reached its PUT within 100 ms in 10 tries")
        proxy.clear()
        conn.execute("SET statement_timeout = 0")
        found = conn.execute("SELECT id FROM t WHERE id >= 200 ORDER BY id").fetchall()
        assert found == [(key,)] and key not in canceled
