"""statement_memory_limit: the rows one statement makes the server hold (a write's rows,
a WITH HOLD cursor's rows at COMMIT, COPY FROM STDIN data). Past it: 53200 "out of
memory", nothing written, the session goes on. Over psycopg, and embedded."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

import elacsym_sql
from elacsym_sql.errors import OutOfMemory
from elacsym_sql.server import BackgroundServer
from elacsym_sql.server.options import ServerOptions

from .wire_client import Client, errors, query

BIG = "INSERT INTO t SELECT i, repeat('x', 100) FROM range(100000) t(i)"  # ~11 MB of rows


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[elacsym_sql.Connection]:
    root = tmp_path_factory.mktemp("memory")
    con = elacsym_sql.connect(str(root / "data"), cache_dir=str(root / "cache"), indexer=False)
    con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
    try:
        yield con
    finally:
        con.close()


@pytest.fixture(scope="module")
def server(database: elacsym_sql.Connection) -> Iterator[BackgroundServer]:
    options = ServerOptions(statement_memory_limit="2MB")  # the sessions' default
    with BackgroundServer(database.database, options=options) as started:
        yield started


@pytest.fixture(scope="module")
def dsn(server: BackgroundServer) -> str:
    return f"host=127.0.0.1 port={server.port} user=tester dbname=e"


@pytest.fixture
def conn(dsn: str, database: elacsym_sql.Connection) -> Iterator[psycopg.Connection]:
    database.execute("DELETE FROM t")
    with psycopg.connect(dsn, autocommit=True) as connection:
        yield connection


def count(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM t").fetchone()[0]


def test_the_setting_reads_and_shows_as_postgres_memory_settings(conn):
    assert conn.execute("SHOW statement_memory_limit").fetchone() == ("2MB",)
    for given, shown in (("65536", "64MB"), ("'1536kB'", "1536kB"), ("'1GB'", "1GB"), (0, "0")):
        conn.execute(f"SET statement_memory_limit = {given}")
        assert conn.execute("SHOW statement_memory_limit").fetchone() == (shown,)
    for bad in ("'10mb'", "'lots'", "'5000GB'", "-1"):
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute(f"SET statement_memory_limit = {bad}")
    conn.execute("RESET statement_memory_limit")
    assert conn.execute("SHOW statement_memory_limit").fetchone() == ("2MB",)


def test_a_write_over_the_limit_fails_and_writes_nothing(conn):
    with pytest.raises(psycopg.errors.OutOfMemory) as err:
        conn.execute(BIG)
    assert err.value.sqlstate == "53200"
    assert "statement_memory_limit (2MB)" in (err.value.diag.message_detail or "")
    assert count(conn) == 0
    conn.execute("INSERT INTO t SELECT i, 'small' FROM range(10) t(i)")  # the session goes on
    assert count(conn) == 10
    conn.execute("SET statement_memory_limit = 0")
    conn.execute(BIG)
    assert count(conn) == 100_000


def test_a_with_hold_cursor_over_the_limit_fails_its_commit_and_rolls_back(conn):
    conn.execute("BEGIN")
    conn.execute("INSERT INTO t VALUES (-1, 'in the block')")
    conn.execute(
        "DECLARE h CURSOR WITH HOLD FOR SELECT i, repeat('y', 100) FROM range(100000) t(i)"
    )
    with pytest.raises(psycopg.errors.OutOfMemory) as err:
        conn.execute("COMMIT")
    assert 'WITH HOLD cursor "h"' in (err.value.diag.message_detail or "")
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert count(conn) == 0
    assert conn.execute("SELECT count(*) FROM pg_cursors").fetchone() == (0,)
    conn.execute("BEGIN")
    conn.execute("DECLARE h CURSOR WITH HOLD FOR SELECT i FROM range(1000) t(i)")
    conn.execute("COMMIT")  # a cursor within the limit is kept
    assert len(conn.execute("FETCH ALL FROM h").fetchall()) == 1000
    conn.execute("CLOSE h")


def test_copy_data_over_the_limit_is_refused_and_writes_nothing(conn):
    with (
        pytest.raises(psycopg.errors.OutOfMemory) as err,
        conn.cursor().copy("COPY t FROM STDIN") as copy,
    ):
        for i in range(60_000):
            copy.write_row((i, "z" * 50))
    assert "COPY FROM STDIN" in (err.value.diag.message_detail or "")
    assert count(conn) == 0
    with conn.cursor().copy("COPY t FROM STDIN") as copy:
        for i in range(100):
            copy.write_row((i, "z"))
    assert count(conn) == 100


def test_embedded_sessions_have_the_setting_too(database):
    database.execute("DELETE FROM t")
    cur = database.cursor()
    cur.execute("SET statement_memory_limit = '1MB'")
    with pytest.raises(OutOfMemory):
        cur.execute(BIG)
    assert cur.execute("SELECT count(*) FROM t").fetchone() == (0,)
    cur.execute("RESET statement_memory_limit")


def test_over_a_raw_socket_the_error_is_53200_and_the_session_goes_on(server, database):
    database.execute("DELETE FROM t")
    client = Client(server.port)
    try:
        replies = client.exchange(query(BIG))
        assert [(e["S"], e["C"], e["M"]) for e in errors(replies)] == [
            ("ERROR", "53200", "out of memory")
        ]
        assert replies[-1].kind == b"Z" and replies[-1].body == b"I"
        replies = client.exchange(query("SELECT count(*) FROM t"))
        assert [r.body for r in replies if r.kind == b"D"] == [b"\x00\x01\x00\x00\x00\x010"]
    finally:
        client.close()
