"""Message size limits, checked on the length word before a body is read: 10 kB before
authentication and for messages that carry only a name, --max-message-size after (FATAL
54000, then the connection closes); broken framing and unknown message types are FATAL
08P01, as in Postgres."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import psycopg
import pytest

from elacsym_sql.cli import main
from elacsym_sql.server import BackgroundServer, Users, Verifier
from elacsym_sql.server.frontend import DEFAULT_MAX_MESSAGE

from .wire_client import Client, Closed, Reply, cstr, errors, message, query

LIMIT = 64 << 10  # the small-limit server's --max-message-size


@pytest.fixture(scope="module")
def limited(wire) -> Iterator[int]:
    """A second server on the module's database, with a 64 KiB message limit."""
    server = BackgroundServer(wire[1].database, max_message_size=LIMIT).start()
    yield server.port
    server.stop()


@pytest.fixture(scope="module")
def password_port(wire) -> Iterator[int]:
    users = Users({"alice": Verifier.from_password("secret")})
    server = BackgroundServer(wire[1].database, auth="password", users=users).start()
    yield server.port
    server.stop()


def _fatal(replies: list[Reply]) -> dict[str, str]:
    """The one FATAL error a closing server sent last."""
    assert replies and replies[-1].kind == b"E", replies
    fields = replies[-1].fields()
    assert fields["S"] == "FATAL"
    return fields


def _refused(client: Client, *frames: bytes) -> dict[str, str]:
    """Send `frames` (a header may claim a body never sent): the answer is FATAL."""
    client.sock.sendall(b"".join(frames))
    try:
        fields = _fatal(client.until(b"E"))
    finally:
        client.sock.close()
    return fields


def _header(kind: bytes, length: int) -> bytes:
    return kind + struct.pack("!i", length)


def _select_one(port: int) -> None:
    client = Client(port)
    try:
        replies = client.exchange(query("SELECT 41 + 1"))
        assert [r.kind for r in replies] == [b"T", b"D", b"C", b"Z"]
        assert b"42" in replies[1].body
    finally:
        client.close()


# -- after authentication ----------------------------------------------------------------


def test_a_message_over_the_limit_is_refused_before_its_body_arrives(limited):
    client = Client(limited)
    fields = _refused(client, _header(b"Q", LIMIT + 1))  # no body follows: none is awaited
    assert fields["C"] == "54000" and str(LIMIT) in fields["M"]
    _select_one(limited)


def test_a_query_just_under_the_limit_runs_and_one_over_it_closes(limited):
    client = Client(limited)
    text = "x" * (LIMIT - 100)
    replies = client.exchange(query(f"SELECT length('{text}')"))
    assert [r.kind for r in replies] == [b"T", b"D", b"C", b"Z"]
    assert str(len(text)).encode() in replies[1].body
    with pytest.raises(Closed) as closed:  # once the refused body is read, the server hangs up
        client.exchange(query(f"SELECT length('{text}{text}')"))
    assert _fatal(closed.value.replies)["C"] == "54000"


def test_the_default_limit_is_256_mib(wire):
    assert DEFAULT_MAX_MESSAGE == 256 << 20
    client = Client(wire[0])
    assert _refused(client, _header(b"Q", (256 << 20) + 5))["C"] == "54000"
    # A 1 MB message is far under it.
    client = Client(wire[0])
    text = "y" * 1_000_000
    assert b"1000000" in client.exchange(query(f"SELECT length('{text}')"))[1].body
    client.close()


@pytest.mark.parametrize("size", [LIMIT + 1, 10_000_000])
def test_psycopg_sees_54000_and_a_closed_connection(limited, size):
    """Even when the client is still sending a large message: the server reads the rest
    and drops it, so the error is read rather than lost to a reset connection."""
    dsn = f"host=127.0.0.1 port={limited} user=tester dbname=elacsym"
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.OperationalError) as failed:
            conn.execute("SELECT length(%s)", ["z" * size])
        assert failed.value.sqlstate == "54000"
        assert conn.closed
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT length(%s)", ["z" * 1000]).fetchone() == (1000,)


@pytest.mark.parametrize("kind", [b"S", b"H", b"C", b"D", b"E", b"X"])
def test_messages_that_carry_only_a_name_are_small(wire, kind):
    client = Client(wire[0])
    assert _refused(client, _header(kind, 10_005))["C"] == "54000"


# -- framing -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [b"z", b"p", b"\x00", b"A"])
def test_an_unknown_message_type_is_fatal(wire, kind):
    """Postgres: FATAL 08P01 "invalid frontend message type", before reading the body
    (a password message after authentication is one of these)."""
    client = Client(wire[0])
    fields = _refused(client, _header(kind, 100_000))
    assert fields["C"] == "08P01"
    assert fields["M"] == f"invalid frontend message type {kind[0]}"
    _select_one(wire[0])


@pytest.mark.parametrize("length", [0, 3, -1, -(2**31)])
def test_an_impossible_length_is_fatal(wire, length):
    client = Client(wire[0])
    assert _refused(client, _header(b"Q", length))["C"] == "08P01"


# -- before authentication ----------------------------------------------------------------


def _raw(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=60)


def _read_all(sock: socket.socket) -> list[Reply]:
    """Every message until the server closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    replies = []
    while data:
        (length,) = struct.unpack_from("!i", data, 1)
        replies.append(Reply(data[:1], data[5 : 1 + length]))
        data = data[1 + length :]
    return replies


def test_a_startup_packet_over_10_kb_is_refused(wire):
    sock = _raw(wire[0])
    sock.sendall(struct.pack("!i", 10_001))  # the body is never sent
    fields = _fatal(_read_all(sock))
    assert fields["C"] == "08P01"
    _select_one(wire[0])


def _password_message(port: int, length: int) -> list[Reply]:
    """Start up as alice and answer the password request with a message of `length`."""
    sock = _raw(port)
    body = struct.pack("!i", 196608) + cstr("user") + cstr("alice") + b"\0"
    sock.sendall(struct.pack("!i", len(body) + 4) + body)
    request = sock.recv(9)
    assert request[:1] == b"R" and struct.unpack("!i", request[5:9])[0] == 3  # cleartext
    password = b"p" * (length - 5)
    sock.sendall(message(b"p", password + b"\0"))
    return _read_all(sock)


def test_a_password_message_over_10_kb_is_refused(password_port):
    assert _fatal(_password_message(password_port, 10_001))["C"] == "54000"
    # Just under it, the password is checked (and is wrong).
    assert _fatal(_password_message(password_port, 9_000))["C"] == "28P01"


def test_before_authentication_only_password_messages_are_read(password_port):
    sock = _raw(password_port)
    body = struct.pack("!i", 196608) + cstr("user") + cstr("alice") + b"\0"
    sock.sendall(struct.pack("!i", len(body) + 4) + body)
    sock.recv(9)
    sock.sendall(query("SELECT 1"))
    replies = _read_all(sock)
    assert errors(replies)[-1]["C"] == "08P01"
    assert b"R" not in [r.kind for r in replies]  # no AuthenticationOk


# -- the setting ---------------------------------------------------------------------------


def test_max_message_size_reaches_the_server_from_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ELACSYM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ELACSYM_INDEXER", "false")
    data = str(tmp_path / "data")
    args = ["--data", data, "serve", "--listen", "127.0.0.1:0", "--max-message-size", "100"]
    assert main(args) == 2
    assert "--max-message-size is at least 10000 bytes" in capsys.readouterr().err
