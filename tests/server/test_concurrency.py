"""Cancel of a running query, many clients at once, and a client that goes away mid-query."""

from __future__ import annotations

import socket
import struct
import threading

import psycopg
import pytest

# Minutes of work unless interrupted (bounded, so a failing test still ends).
SLOW = "SELECT count(*) FROM range(30000000) a, range(2000) b WHERE a.range + b.range = -1"


def test_cancel_interrupts_a_long_query_and_the_session_goes_on(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        started = threading.Event()

        def cancel_when_running() -> None:
            started.wait(30)
            # keep asking until the statement is running (a cancel before it is a no-op).
            # cancel_safe: libpq's old PQcancel (conn.cancel) holds the GIL while it waits
            # for the server to hang up, which deadlocks against a server in this process.
            for _ in range(200):
                conn.cancel_safe(timeout=10)
                if done.wait(0.1):
                    return

        done = threading.Event()
        canceller = threading.Thread(target=cancel_when_running)
        canceller.start()
        try:
            with pytest.raises(psycopg.errors.QueryCanceled) as err:
                started.set()
                conn.execute(SLOW)
        finally:
            done.set()
            canceller.join()
        assert err.value.sqlstate == "57014"
        assert conn.execute("SELECT count(*) FROM docs").fetchone() == (3,)


def test_twenty_clients_read_and_write_at_once(dsn, wire):
    con = wire[1]
    con.execute("CREATE TABLE busy (id BIGINT PRIMARY KEY, who BIGINT, v TEXT)")
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for i in range(5):
                    key = n * 100 + i
                    conn.execute("INSERT INTO busy VALUES (%s, %s, %s)", [key, n, f"v{key}"])
                    mine = conn.execute("SELECT count(*) FROM busy WHERE who = %s", [n]).fetchone()
                    assert mine == (i + 1,)
                    rows = conn.execute(
                        "SELECT id FROM text_search('docs', 'storage', 5) ORDER BY id"
                    ).fetchall()
                    assert rows == [(1,), (3,)]
        except BaseException as exc:  # reported below, from the main thread
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    try:
        assert not errors, errors[:3]
        assert con.execute("SELECT count(*), count(DISTINCT who) FROM busy").fetchone() == (100, 20)
    finally:
        con.execute("DROP TABLE busy")


def test_client_that_disconnects_mid_query_does_not_stop_the_server(wire, dsn):
    port = wire[0]
    sock = socket.create_connection(("127.0.0.1", port))
    params = b"user\x00t\x00database\x00e\x00\x00"
    sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
    buf = b""
    while not buf.endswith(b"Z\x00\x00\x00\x05I"):
        buf += sock.recv(4096)
    query = SLOW.encode() + b"\x00"
    sock.sendall(b"Q" + struct.pack("!i", 4 + len(query)) + query)
    sock.close()  # gone while the statement runs
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT id FROM docs WHERE id = 2").fetchone() == (2,)
        other = conn.execute("SELECT count(*) FROM range(1000)").fetchone()
        assert other == (1000,)
