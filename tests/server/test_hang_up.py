"""A client that hangs up in the middle of a result it does not read: its session ends and
frees its connection slot, however the hang-up arrives (a close with unread data, an RST,
or only a FIN, as a proxy between client and server passes it on), while the statement
still produces rows or while the server waits for the socket to drain; what was buffered
for a half-closed client is dropped (its socket closed), not kept until it reads. A statement that
already took effect (INSERT ... RETURNING) owes its rows to a slow reader even once
canceled."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

import elacsym_sql
from elacsym_sql.server import BackgroundServer
from elacsym_sql.server.options import ServerOptions

from .wire_client import CLOSE_WAIT, Client, errors, query, server_side_state, startup_packet

BIG = "SELECT i, 'row number ' || i AS t FROM range(20000000) t(i)"  # minutes to read
CANCEL_REQUEST = 80877102


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    root = tmp_path_factory.mktemp("hang_up")
    con = elacsym_sql.connect(str(root / "data"), cache_dir=str(root / "cache"), indexer=False)
    con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
    try:
        # One slot: a session that does not end keeps every later client out (53300).
        with BackgroundServer(con.database, options=ServerOptions(max_connections=1)) as srv:
            yield srv
    finally:
        con.close()


def stalled(port: int, sql: str) -> Client:
    """A client that sends `sql` and reads nothing (a small receive buffer)."""
    client = Client(port)
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
    client.sock.sendall(query(sql))
    return client


def slot_is_freed(port: int, seconds: float = 15.0) -> bool:
    """Whether a new client gets the server's only slot within `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with psycopg.connect(f"host=127.0.0.1 port={port} user=u dbname=e") as conn:
                return conn.execute("SELECT 42").fetchone() == (42,)
        except psycopg.OperationalError as exc:
            assert "too many clients" in str(exc)
            time.sleep(0.2)
    return False


@pytest.mark.parametrize("stage", ["producing", "draining"])
@pytest.mark.parametrize("how", ["close", "reset", "fin only"])
def test_a_client_that_hangs_up_mid_result_frees_its_session(server, how, stage):
    client = stalled(server.port, BIG)
    if stage == "draining":
        time.sleep(1.0)  # the socket's buffers are full: the server waits for them to drain
    if how == "reset":
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if how == "fin only":
        client.sock.shutdown(socket.SHUT_WR)  # the socket stays open and unread
    else:
        client.sock.close()  # unread data: the kernel answers with an RST
    try:
        assert slot_is_freed(server.port), f"the session of a client that hung up ({how}) lives on"
        if how == "fin only":  # what was buffered for it is dropped with the connection
            port = client.sock.getsockname()[1]
            assert wait_for(lambda: server_side_state(server.port, port) != CLOSE_WAIT)
    finally:
        client.sock.close()


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


def connect_with_key(port: int) -> tuple[Client, int, int]:
    """A raw client and its BackendKeyData (pid, secret) for a CancelRequest."""
    client = Client.__new__(Client)
    client.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    client.sock.sendall(startup_packet())
    (key,) = [r.body for r in client.until_ready() if r.kind == b"K"]
    pid, secret = struct.unpack("!ii", key)
    return client, pid, secret


def test_a_write_that_took_effect_sends_every_returned_row_to_a_slow_reader_after_a_cancel(
    server, no_tracebacks
):
    client, pid, secret = connect_with_key(server.port)
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
    client.sock.sendall(
        query("INSERT INTO t SELECT i, repeat('x', 100) FROM range(100000) t(i) RETURNING *")
    )
    first = client.until(b"D")  # rows come once the write landed: past its commit point
    with socket.create_connection(("127.0.0.1", server.port)) as cancel:
        cancel.sendall(struct.pack("!iiii", 16, CANCEL_REQUEST, pid, secret))
        assert cancel.recv(1) == b""
    time.sleep(1.0)  # canceled while the server waits for this client to read
    replies = first + client.until_ready()
    assert not errors(replies)
    assert sum(1 for r in replies if r.kind == b"D") == 100_000
    assert [r.body for r in replies if r.kind == b"C"] == [b"INSERT 0 100000\x00"]
    assert [r.body for r in client.exchange(query("SELECT count(*) FROM t")) if r.kind == b"D"] == [
        b"\x00\x01\x00\x00\x00\x06100000"
    ]
    client.close()
