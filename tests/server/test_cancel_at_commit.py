"""A cancel or statement_timeout that races a write never contradicts what the write did:
a statement reported canceled (57014) wrote nothing, one reported done wrote all its rows.
As in Postgres, a statement past its commit point (its WAL object or its transaction's
decision landed) is no longer interrupted: what it still does in DuckDB afterwards (a
COMMIT hiding its block's views, listing the WITH HOLD cursors it keeps) completes.

The race is swept, not timed: statement_timeout takes every value from 1 ms up, so its
deadline falls before, during and after each step; nothing asserts how long a step takes.
"""

from __future__ import annotations

import collections
import tempfile
from collections.abc import Iterator

import psycopg
import pytest

import elacsym_sql
from elacsym_sql.server import BackgroundServer

ROWS = 50  # per statement: enough DuckDB work that some deadlines fall inside it


@pytest.fixture(scope="module")
def dsn() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as root:
        con = elacsym_sql.connect(f"{root}/data", cache_dir=f"{root}/cache", indexer=False)
        con.execute("CREATE TABLE a (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("CREATE TABLE b (id BIGINT PRIMARY KEY, v TEXT)")
        try:
            with BackgroundServer(con.database) as server:
                yield f"host=127.0.0.1 port={server.port} user=tester dbname=e"
        finally:
            con.close()


def run_with_timeout(conn: psycopg.Connection, ms: int, sql: str) -> str:
    """Run `sql` under statement_timeout `ms`; 'ok' or its SQLSTATE."""
    conn.execute(f"SET statement_timeout = {ms}")
    try:
        conn.execute(sql)
        outcome = "ok"
    except psycopg.Error as exc:
        outcome = exc.sqlstate or "?"
    while True:  # the SET runs under the short timeout too: again until it gets through
        try:
            conn.execute("SET statement_timeout = 0")
            return outcome
        except psycopg.errors.QueryCanceled:
            pass


def count(conn: psycopg.Connection, table: str, where: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]


def test_an_insert_racing_its_timeout_is_canceled_and_absent_or_done_and_present(dsn):
    seen: collections.Counter[str] = collections.Counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in range(1, 61):
            sql = f"INSERT INTO a SELECT {i} * 1000 + x, repeat('x', 100) FROM range({ROWS}) t(x)"
            outcome = run_with_timeout(conn, 1 + i % 30, sql)
            written = count(conn, "a", f"id / 1000 = {i}")
            assert (outcome, written) in (("ok", ROWS), ("57014", 0)), (i, outcome, written)
            seen[outcome] += 1
    assert seen["ok"] > 0  # the sweep reached past the commit point


def test_a_commit_racing_its_timeout_is_canceled_and_absent_or_done_and_present(dsn):
    seen: collections.Counter[str] = collections.Counter()
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        psycopg.connect(dsn, autocommit=True) as other,
    ):
        for i in range(1, 61):
            conn.execute("BEGIN")
            conn.execute(f"INSERT INTO a SELECT -{i} * 1000 - x, 'a' FROM range({ROWS}) t(x)")
            conn.execute(f"INSERT INTO b VALUES ({i}, 'b')")  # two namespaces: a decision
            conn.execute("DECLARE h CURSOR WITH HOLD FOR SELECT id FROM b WHERE id < 5")
            outcome = run_with_timeout(conn, 1 + i % 30, "COMMIT")
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            conn.execute("CLOSE ALL")
            written = (count(conn, "a", f"id / 1000 = -{i}"), count(conn, "b", f"id = {i}"))
            if outcome == "ok":
                assert written == (ROWS, 1), (i, outcome, written)
            else:
                assert (outcome, written) == ("57014", (0, 0)), (i, outcome, written)
            seen[outcome] += 1
            # The block's views are gone: this session sees what others write next.
            other.execute(f"INSERT INTO b VALUES (-{i}, 'other')")
            assert count(conn, "b", f"id = -{i}") == 1
    assert seen["ok"] > 0


def exists(conn: psycopg.Connection, table: str) -> bool:
    try:
        conn.execute(f"SELECT count(*) FROM {table}")
        return True
    except psycopg.errors.UndefinedTable:
        return False


def test_ddl_racing_its_timeout_is_canceled_and_absent_or_done_and_present(dsn):
    """CREATE TABLE, TRUNCATE and a DROP of two tables take effect at once, as their own
    commit: one reported canceled did nothing, one reported done did it all."""
    seen: collections.Counter[tuple[str, str]] = collections.Counter()
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        psycopg.connect(dsn, autocommit=True) as other,
    ):
        for i in range(1, 41):
            ms = 1 + i % 20
            conn.execute(f"CREATE TABLE ddl_u{i} (id BIGINT PRIMARY KEY)")
            outcome = run_with_timeout(conn, ms, f"CREATE TABLE ddl_t{i} (id BIGINT PRIMARY KEY)")
            created = exists(other, f"ddl_t{i}")
            assert (outcome, created) in (("ok", True), ("57014", False)), (i, outcome)
            seen["create", outcome] += 1
            if not created:
                conn.execute(f"CREATE TABLE ddl_t{i} (id BIGINT PRIMARY KEY)")
            conn.execute(f"INSERT INTO ddl_t{i} VALUES (1), (2)")
            outcome = run_with_timeout(conn, ms, f"TRUNCATE ddl_t{i}")
            left = count(other, f"ddl_t{i}", "true")
            assert (outcome, left) in (("ok", 0), ("57014", 2)), (i, outcome, left)
            seen["truncate", outcome] += 1
            outcome = run_with_timeout(conn, ms, f"DROP TABLE ddl_t{i}, ddl_u{i}")
            present = (exists(other, f"ddl_t{i}"), exists(other, f"ddl_u{i}"))
            # Dropping the first already took effect: the second follows, not a cancel.
            assert (outcome, present) in (("ok", (False, False)), ("57014", (True, True))), (
                i,
                outcome,
                present,
            )
            seen["drop", outcome] += 1
            if outcome != "ok":
                conn.execute(f"DROP TABLE ddl_t{i}, ddl_u{i}")
    assert seen["create", "ok"] and seen["truncate", "ok"] and seen["drop", "ok"]
