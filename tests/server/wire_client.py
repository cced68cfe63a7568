"""The Postgres v3 protocol by hand, for tests that send what drivers never would: message
builders, and a socket client that reads every reply (and notices a closed connection)."""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


def message(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def cstr(text: str | bytes) -> bytes:
    return (text.encode() if isinstance(text, str) else text) + b"\0"


def startup_packet(user: str = "tester") -> bytes:
    body = struct.pack("!i", 196608) + cstr("user") + cstr(user) + b"\0"
    return struct.pack("!i", len(body) + 4) + body


def query(sql: str | bytes) -> bytes:
    return message(b"Q", cstr(sql))


def parse(sql: str | bytes, name: str = "", oids: Sequence[int] = ()) -> bytes:
    body = cstr(name) + cstr(sql) + struct.pack("!h", len(oids))
    return message(b"P", body + b"".join(struct.pack("!I", oid) for oid in oids))


def bind(
    params: Sequence[str | bytes | None],
    portal: str = "",
    statement: str = "",
    formats: Sequence[int] = (),
    result_formats: Sequence[int] = (),
) -> bytes:
    body = cstr(portal) + cstr(statement) + _int16s(formats) + struct.pack("!h", len(params))
    for value in params:
        if value is None:
            body += struct.pack("!i", -1)
        else:
            raw = value.encode() if isinstance(value, str) else value
            body += struct.pack("!i", len(raw)) + raw
    return message(b"B", body + _int16s(result_formats))


def _int16s(values: Sequence[int]) -> bytes:
    return struct.pack(f"!h{len(values)}h", len(values), *values)


def describe_portal(portal: str = "") -> bytes:
    return message(b"D", b"P" + cstr(portal))


def execute(portal: str = "", limit: int = 0) -> bytes:
    return message(b"E", cstr(portal) + struct.pack("!i", limit))


SYNC = message(b"S")
CLOSE_WAIT = "08"  # /proc/net/tcp: the client's FIN arrived, the server has not closed


def server_side_state(server_port: int, client_port: int) -> str | None:
    """The TCP state of the server's end of a loopback connection (Linux /proc/net/tcp):
    how a test sees whether the server closed a connection its client only half-closed."""
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            local, remote, state = line.split()[1:4]
            if int(local.split(":")[1], 16) == server_port and (
                int(remote.split(":")[1], 16) == client_port
            ):
                return state
    return None


@dataclass(frozen=True)
class Reply:
    kind: bytes
    body: bytes

    def fields(self) -> dict[str, str]:
        """An ErrorResponse's fields by code: S, C, M, P, ..."""
        parts = self.body.rstrip(b"\0").split(b"\0")
        return {p[:1].decode(): p[1:].decode("utf-8", "replace") for p in parts if p}


class Closed(AssertionError):
    """The server closed the connection before ReadyForQuery; `replies` came first."""

    def __init__(self, replies: list[Reply]) -> None:
        super().__init__(f"connection closed after {[r.kind for r in replies]}")
        self.replies = replies


class Client:
    def __init__(self, port: int, user: str = "tester", timeout: float = 60) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.sendall(startup_packet(user))
        self.until_ready()

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            try:
                chunk = self.sock.recv(n - len(data))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def replies(self) -> Iterator[Reply]:
        """Each message as it arrives, until the server hangs up."""
        while True:
            try:
                kind = self._read(1)
                (length,) = struct.unpack("!i", self._read(4))
                yield Reply(kind, self._read(length - 4))
            except EOFError:
                return

    def until(self, last: bytes) -> list[Reply]:
        """Every message up to and including one of kind `last` (b"Z": ReadyForQuery);
        Closed if the server hangs up first."""
        got: list[Reply] = []
        for reply in self.replies():
            got.append(reply)
            if reply.kind == last:
                return got
        raise Closed(got)

    def until_ready(self) -> list[Reply]:
        return self.until(b"Z")

    def exchange(self, *messages: bytes) -> list[Reply]:
        self.sock.sendall(b"".join(messages))
        return self.until_ready()

    def send(self, *messages: bytes) -> list[bytes]:
        """The kinds of the replies to `messages`, up to ReadyForQuery."""
        return [r.kind for r in self.exchange(*messages)]

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the server may have closed it already
            self.sock.sendall(message(b"X"))
        self.sock.close()


def errors(replies: list[Reply]) -> list[dict[str, str]]:
    return [r.fields() for r in replies if r.kind == b"E"]
