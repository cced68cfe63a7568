"""The extended protocol message by message, over a plain socket: what a portal's Describe
answers with and without an Execute behind it, and that Describe alone runs nothing."""

from __future__ import annotations

import socket
import struct

import pytest


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def _cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def parse(sql: str, name: str = "") -> bytes:
    return _message(b"P", _cstr(name) + _cstr(sql) + struct.pack("!h", 0))


def bind(params: list[str], portal: str = "", statement: str = "") -> bytes:
    body = _cstr(portal) + _cstr(statement) + struct.pack("!hh", 0, len(params))
    for value in params:
        body += struct.pack("!i", len(value)) + value.encode()
    return _message(b"B", body + struct.pack("!h", 0))


def describe_portal(portal: str = "") -> bytes:
    return _message(b"D", b"P" + _cstr(portal))


def execute(portal: str = "", limit: int = 0) -> bytes:
    return _message(b"E", _cstr(portal) + struct.pack("!i", limit))


SYNC = _message(b"S", b"")


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        body = struct.pack("!i", 196608) + _cstr("user") + _cstr("tester") + b"\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        self.until_ready()

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, "the server closed the connection"
            data += chunk
        return data

    def until_ready(self) -> list[tuple[bytes, bytes]]:
        """(kind, body) of every message up to and including ReadyForQuery."""
        got = []
        while True:
            kind = self._read(1)
            (length,) = struct.unpack("!i", self._read(4))
            got.append((kind, self._read(length - 4)))
            if kind == b"Z":
                return got

    def send(self, *messages: bytes) -> list[bytes]:
        self.sock.sendall(b"".join(messages))
        return [kind for kind, _ in self.until_ready()]

    def close(self) -> None:
        self.sock.sendall(_message(b"X", b""))
        self.sock.close()


@pytest.fixture
def client(wire):
    c = Client(wire[0])
    yield c
    c.close()


def test_describe_of_a_portal_alone_runs_nothing(client, wire):
    con = wire[1]
    con.execute("CREATE TABLE raw_describe (id BIGINT PRIMARY KEY, v TEXT)")
    try:
        insert = parse("INSERT INTO raw_describe VALUES ($1, $2)")
        assert client.send(insert, bind(["1", "a"]), describe_portal(), SYNC) == [
            b"1", b"2", b"n", b"Z"
        ]  # fmt: skip
        select = parse("SELECT id, v FROM raw_describe")
        assert client.send(select, bind([]), describe_portal(), SYNC) == [b"1", b"2", b"T", b"Z"]
        assert con.execute("SELECT count(*) FROM raw_describe").fetchone() == (0,)
        # The same with Execute behind the Describe: the write happens once.
        assert client.send(insert, bind(["1", "a"]), describe_portal(), execute(), SYNC) == [
            b"1", b"2", b"n", b"C", b"Z"
        ]  # fmt: skip
        assert con.execute("SELECT id, v FROM raw_describe").fetchall() == [(1, "a")]
    finally:
        con.execute("DROP TABLE raw_describe")


def test_describe_then_execute_sends_the_description_first(client):
    got = client.send(parse("SELECT id, title FROM docs ORDER BY id"), bind([]),
                      describe_portal(), execute(), SYNC)  # fmt: skip
    assert got == [b"1", b"2", b"T", b"D", b"D", b"D", b"C", b"Z"]


def test_named_portal_described_between_limited_executes(client):
    client.sock.sendall(parse("SELECT id FROM docs ORDER BY id", "s1"))
    got = client.send(bind([], "p1", "s1"), execute("p1", 1), describe_portal("p1"),
                      execute("p1", 1), execute("p1", 0), SYNC)  # fmt: skip
    # DataRow, PortalSuspended; RowDescription; DataRow, PortalSuspended; DataRow, Complete
    assert got == [b"1", b"2", b"D", b"s", b"T", b"D", b"s", b"D", b"C", b"Z"]


def test_describe_of_a_failing_statement_reports_the_error_once(client):
    got = client.send(parse("SELECT nope FROM docs"), bind([]), describe_portal(), execute(),
                      SYNC)  # fmt: skip
    assert got == [b"1", b"2", b"E", b"Z"]
    assert client.send(parse("SELECT 1"), bind([]), describe_portal(), execute(), SYNC) == [
        b"1", b"2", b"T", b"D", b"C", b"Z"
    ]  # fmt: skip
