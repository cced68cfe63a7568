"""Timeouts and the connection limit, as Postgres has them: statement_timeout (57014),
idle_in_transaction_session_timeout (25P03), idle_session_timeout (57P05),
authentication_timeout (closed without a word), max_connections (53300); set by SET, by
startup options and by the server's own defaults. Over psycopg and raw sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

import elacsym_sql
from elacsym_sql.server import BackgroundServer
from elacsym_sql.server.options import ServerOptions

from .wire_client import Client, Closed, errors, query, startup_packet

LONG = "SELECT count(*) FROM range(100000000000)"  # minutes of work, unless stopped


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[elacsym_sql.Connection]:
    root = tmp_path_factory.mktemp("limits")
    con = elacsym_sql.connect(str(root / "data"), cache_dir=str(root / "cache"), indexer=False)
    con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
    try:
        yield con
    finally:
        con.close()


@pytest.fixture(scope="module")
def server(database: elacsym_sql.Connection) -> Iterator[BackgroundServer]:
    options = ServerOptions(max_connections=4, authentication_timeout="1")
    with BackgroundServer(database.database, options=options) as started:
        yield started


def dsn(port: int, **extra: str) -> str:
    more = " ".join(f"{k}='{v}'" for k, v in extra.items())
    return f"host=127.0.0.1 port={port} user=tester dbname=e {more}"


def test_set_statement_timeout_cancels_and_the_session_goes_on(server):
    with psycopg.connect(dsn(server.port), autocommit=True) as conn:
        conn.execute("SET statement_timeout = 300")
        assert conn.execute("SHOW statement_timeout").fetchone() == ("300ms",)
        with pytest.raises(psycopg.errors.QueryCanceled) as err:
            conn.execute(LONG)
        assert err.value.sqlstate == "57014"
        assert "canceling statement due to statement timeout" in str(err.value)
        assert conn.execute("SELECT 42").fetchone() == (42,)
        conn.execute("SET statement_timeout = 0")
        assert conn.execute("SELECT count(*) FROM range(1000)").fetchone() == (1000,)


def test_statement_timeout_from_startup_options(server):
    with psycopg.connect(dsn(server.port, options="-c statement_timeout=1s")) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("1s",)
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            conn.execute(LONG)


def test_bad_startup_options_are_refused(server):
    with pytest.raises(psycopg.OperationalError, match="invalid value for parameter"):
        psycopg.connect(dsn(server.port, options="-c statement_timeout=soon"))
    with pytest.raises(psycopg.OperationalError, match="invalid command-line argument"):
        psycopg.connect(dsn(server.port, options="statement_timeout"))


def test_timeout_values_read_and_show_as_in_postgres(server):
    with psycopg.connect(dsn(server.port), autocommit=True) as conn:
        for given, shown in (("1000", "1s"), ("1500", "1500ms"), ("'2min'", "2min"),
                             ("'1.5s'", "1500ms"), ("'1d'", "1d"), ("0", "0")):  # fmt: skip
            conn.execute(f"SET statement_timeout = {given}")
            assert conn.execute("SHOW statement_timeout").fetchone() == (shown,)
        with pytest.raises(psycopg.errors.InvalidParameterValue, match='"abc"'):
            conn.execute("SET statement_timeout = 'abc'")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="outside the valid range"):
            conn.execute("SET idle_session_timeout = -1")
        with pytest.raises(psycopg.errors.CantChangeRuntimeParam):
            conn.execute("SET max_connections = 10")
        with pytest.raises(psycopg.errors.CantChangeRuntimeParam):
            conn.execute("SET authentication_timeout = 10")
        assert conn.execute("SHOW max_connections").fetchone() == ("4",)
        assert conn.execute("SHOW authentication_timeout").fetchone() == ("1s",)


def test_server_defaults_apply_and_reset_returns_to_them(database):
    options = ServerOptions(statement_timeout="250ms")
    with (
        BackgroundServer(database.database, options=options) as srv,
        psycopg.connect(dsn(srv.port), autocommit=True) as conn,
    ):
        assert conn.execute("SHOW statement_timeout").fetchone() == ("250ms",)
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            conn.execute(LONG)
        conn.execute("SET statement_timeout = '1h'")
        conn.execute("RESET statement_timeout")
        assert conn.execute("SHOW statement_timeout").fetchone() == ("250ms",)


def test_cancel_says_user_request(server):
    with psycopg.connect(dsn(server.port), autocommit=True) as conn:
        stop = threading.Event()

        def cancel_until_stopped() -> None:
            while not stop.wait(0.2):  # a cancel before the statement runs is a no-op
                conn.cancel_safe(timeout=10)

        canceller = threading.Thread(target=cancel_until_stopped)
        canceller.start()
        try:
            with pytest.raises(psycopg.errors.QueryCanceled, match="due to user request"):
                conn.execute(LONG)
        finally:
            stop.set()
            canceller.join()
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_idle_in_transaction_timeout_closes_with_25P03(server):
    client = Client(server.port)
    client.exchange(query("SET idle_in_transaction_session_timeout = 200"))
    replies = client.exchange(query("BEGIN"))
    assert replies[-1].body == b"T"
    with pytest.raises(Closed) as closed:
        client.until_ready()  # nothing sent: the server ends the session
    assert [e["C"] for e in errors(closed.value.replies)] == ["25P03"]
    assert errors(closed.value.replies)[0]["S"] == "FATAL"
    assert "idle-in-transaction timeout" in errors(closed.value.replies)[0]["M"]


def test_idle_in_transaction_timeout_spares_sessions_outside_a_block(server):
    with psycopg.connect(dsn(server.port), autocommit=True) as conn:
        conn.execute("SET idle_in_transaction_session_timeout = 100")
        time.sleep(0.5)  # idle, but not in a block: not closed
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_idle_session_timeout_closes_with_57P05(server):
    with psycopg.connect(dsn(server.port, options="-c idle_session_timeout=200")) as conn:
        conn.autocommit = True
        assert conn.execute("SELECT 1").fetchone() == (1,)  # busy sessions are not closed
        time.sleep(1.0)
        with pytest.raises(psycopg.OperationalError, match="idle-session timeout"):
            conn.execute("SELECT 1")


def test_authentication_timeout_drops_a_silent_client(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        assert sock.recv(1) == b""  # closed, nothing said: as Postgres


def test_max_connections_refuses_with_53300_and_frees_on_close(server):
    held = [psycopg.connect(dsn(server.port)) for _ in range(4)]
    try:
        with pytest.raises(psycopg.OperationalError, match="sorry, too many clients already"):
            psycopg.connect(dsn(server.port))
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        raw.sendall(startup_packet())
        refused = Client.__new__(Client)
        refused.sock = raw
        replies = list(refused.replies())
        assert [e["C"] for e in errors(replies)] == ["53300"]
        raw.close()
    finally:
        held.pop().close()
    for _ in range(100):  # the server notices the closed session shortly
        try:
            psycopg.connect(dsn(server.port)).close()
            break
        except psycopg.OperationalError:
            time.sleep(0.1)
    else:
        pytest.fail("a freed connection slot was not given to a new client")
    for conn in held:
        conn.close()


def test_copy_data_over_the_limit_is_refused_and_the_session_goes_on(database):
    database.execute("CREATE TABLE IF NOT EXISTS c (id BIGINT PRIMARY KEY, v TEXT)")
    options = ServerOptions(max_copy_bytes=10_000)
    with (
        BackgroundServer(database.database, options=options) as srv,
        psycopg.connect(dsn(srv.port), autocommit=True) as conn,
    ):
        with (
            pytest.raises(psycopg.errors.ProgramLimitExceeded, match="COPY data"),
            conn.cursor().copy("COPY c FROM STDIN") as copy,
        ):
            for i in range(2000):
                copy.write_row((i, "some text to fill the limit"))
        with conn.cursor().copy("COPY c FROM STDIN") as copy:
            copy.write_row((1, "small"))
        assert conn.execute("SELECT count(*) FROM c").fetchone() == (1,)


def test_memory_limit_fails_a_statement_with_53200_and_the_server_goes_on(tmp_path):
    con = elacsym_sql.connect(str(tmp_path / "data"), cache_dir=str(tmp_path / "c"), indexer=False)
    options = ServerOptions(memory_limit="100MB")
    try:
        with (
            BackgroundServer(con.database, options=options) as srv,
            psycopg.connect(dsn(srv.port), autocommit=True) as conn,
        ):
            with pytest.raises(psycopg.errors.OutOfMemory):
                conn.execute("SELECT len(list(i)) FROM range(50000000) t(i)")
            assert conn.execute("SELECT count(*) FROM range(1000)").fetchone() == (1000,)
        with pytest.raises(elacsym_sql.errors.InvalidParameterValue):
            con.database.set_memory_limit("lots")
    finally:
        con.close()
