"""Transaction blocks through SQL under concurrency: no lost update, first committer wins,
a multi-namespace commit is never half-visible, repeatable reads, bounded staging."""

from __future__ import annotations

import threading

import pytest

import elacsym_sql
from elacsym_sql.errors import InFailedTransaction, ProgramLimitExceeded, SerializationFailure
from tests.helpers import connection, rows


def _increment(con: elacsym_sql.Connection, times: int) -> int:
    """Add 1 to the counter `times` times, each in a block, retrying on 40001."""
    conflicts = 0
    done = 0
    while done < times:
        con.begin()
        (value,) = con.execute("SELECT v FROM counters WHERE id = 1").fetchone()
        con.execute("UPDATE counters SET v = ? WHERE id = 1", [value + 1])
        try:
            con.commit()
            done += 1
        except SerializationFailure:
            conflicts += 1
    return conflicts


def test_read_modify_write_blocks_lose_no_update(make_settings):
    with connection(make_settings) as setup:
        setup.execute("CREATE TABLE counters (id BIGINT PRIMARY KEY, v BIGINT)")
        setup.execute("INSERT INTO counters VALUES (1, 0)")
    conflicts: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with connection(make_settings) as con:  # an engine of its own: another process
                conflicts.append(_increment(con, 6))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with connection(make_settings) as con:
        assert rows(con, "SELECT v FROM counters") == [(24,)]


def test_a_block_reads_one_snapshot(make_settings):
    with connection(make_settings) as a, connection(make_settings) as b:
        a.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)")
        a.execute("INSERT INTO kv VALUES (1, 'old')")
        a.begin()
        assert rows(a, "SELECT v FROM kv") == [("old",)]
        b.execute("UPDATE kv SET v = 'new' WHERE id = 1")
        b.execute("INSERT INTO kv VALUES (2, 'added')")
        assert rows(a, "SELECT v FROM kv ORDER BY id") == [("old",)]
        a.commit()
        assert rows(a, "SELECT v FROM kv ORDER BY id") == [("new",), ("added",)]


def test_a_transfer_between_namespaces_is_never_half_visible(make_settings):
    with connection(make_settings) as setup:
        for name in ("checking", "savings"):
            setup.execute(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, amount BIGINT)")
            setup.execute(f"INSERT INTO {name} VALUES (1, 100)")
    total = "SELECT (SELECT sum(amount) FROM checking) + (SELECT sum(amount) FROM savings)"
    totals: list[int] = []  # every total the reader saw
    failures: list[BaseException] = []
    first_read, stop = threading.Event(), threading.Event()

    def read() -> None:
        try:
            with connection(make_settings) as reader:
                while not stop.is_set():
                    totals.append(rows(reader, total)[0][0])
                    first_read.set()
        except BaseException as exc:  # reported by the test, not lost with the thread
            failures.append(exc)
            first_read.set()

    reader = threading.Thread(target=read)
    reader.start()
    transfers = 0
    try:
        assert first_read.wait(120)
        reads_before = len(totals)
        with connection(make_settings) as writer:
            # At least 15 transfers, and on until the reader has read 10 times meanwhile
            # (a loaded machine may schedule it rarely).
            while (transfers < 15 or len(totals) - reads_before < 10) and transfers < 300:
                writer.begin()
                writer.execute("UPDATE checking SET amount = amount - 5 WHERE id = 1")
                writer.execute("UPDATE savings SET amount = amount + 5 WHERE id = 1")
                writer.commit()
                transfers += 1
    finally:
        stop.set()
        reader.join()
    assert not failures, failures
    assert len(totals) - reads_before >= 10
    assert set(totals) == {200}
    with connection(make_settings) as con:
        assert rows(con, "SELECT amount FROM checking") == [(100 - 5 * transfers,)]
        assert rows(con, "SELECT amount FROM savings") == [(100 + 5 * transfers,)]


def test_staging_more_than_the_bound_fails_the_block_and_writes_nothing(make_settings):
    with connection(make_settings, max_transaction_bytes=50_000) as con:
        con.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)")
        con.begin()
        con.execute("INSERT INTO kv SELECT i, 'x' FROM range(100) t(i)")
        with pytest.raises(ProgramLimitExceeded) as err:
            con.execute("INSERT INTO kv SELECT i, repeat('y', 1000) FROM range(100, 200) t(i)")
        assert err.value.sqlstate == "54000"
        with pytest.raises(InFailedTransaction):
            con.execute("SELECT 1")
        con.rollback()
        assert rows(con, "SELECT count(*) FROM kv") == [(0,)]


def test_writes_in_a_block_read_the_blocks_own_writes(make_settings):
    with connection(make_settings) as con, connection(make_settings) as other:
        con.execute("CREATE TABLE src (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("CREATE TABLE dst (id BIGINT PRIMARY KEY, v TEXT)")
        con.begin()
        con.execute("INSERT INTO src VALUES (1, 'staged')")
        con.execute("INSERT INTO dst SELECT id, v FROM src")
        con.execute("UPDATE dst SET v = v || '!' WHERE id = 1")
        con.execute(
            "INSERT INTO dst VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET v = dst.v || '?'"
        )
        assert rows(con, "SELECT v FROM dst") == [("staged!?",)]
        assert rows(other, "SELECT count(*) FROM dst") == [(0,)]
        con.commit()
        assert rows(other, "SELECT v FROM dst") == [("staged!?",)]


def test_savepoints_of_one_name_stack_as_in_postgres(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)")
        con.begin()
        con.execute("SAVEPOINT a")
        con.execute("INSERT INTO kv VALUES (1, 'one')")
        con.execute("SAVEPOINT a")
        con.execute("INSERT INTO kv VALUES (2, 'two')")
        con.execute("ROLLBACK TO a")  # the newer "a": undoes 2 only, and stays
        assert rows(con, "SELECT id FROM kv") == [(1,)]
        con.execute("RELEASE a")  # releases the newer "a"; the older one remains
        con.execute("ROLLBACK TO SAVEPOINT a")
        assert rows(con, "SELECT count(*) FROM kv") == [(0,)]
        con.commit()
