"""Writes over the wire at a member that does not own the namespace go to the owner's
Postgres port over pooled libpq connections; the owner's command tag, row count, message
and SQLSTATE are the answer (decision 0058).

The statement travels as the client sent it, with its parameters (already decoded by this
server) dumped again by psycopg as a psycopg client would send them.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from psycopg import pq
from psycopg.adapt import PyFormat, Transformer

from ..errors import ElacsymError, StatementCompletionUnknown
from .peers import Address

#: The application_name of a forwarding connection: its statements are written where they
#: arrive (no ping-pong between two members whose views differ for a moment).
FORWARDED_PREFIX = "elacsym-forwarded-by-"
IDLE_SECONDS = 30.0  # a pooled connection idle longer is closed, not reused
CONNECT_TIMEOUT_SECONDS = 5

Raise = Callable[[str, str, str | None, str | None], ElacsymError]  # sqlstate, msg, detail, hint


class NotSent(Exception):
    """No connection to the owner: it never saw the statement."""


class PgPool:
    def __init__(self, node_id: str, user: str, error: Raise) -> None:
        self.node_id = node_id
        self.user = user  # members connect to each other as this user
        self._error = error  # the error class of a SQLSTATE (sql/errors.py knows them)
        self._idle: dict[tuple[str, int], list[tuple[float, pq.abc.PGconn]]] = {}
        self._lock = threading.Lock()

    def execute(self, address: Address, text: str, params: Sequence[Any]) -> int:
        """Run one statement at `address`; returns the rows its command tag counts (-1: none).
        NotSent when no connection could be made, StatementCompletionUnknown (40003) when it
        was sent and no answer came, the owner's error (its SQLSTATE) when it refused."""
        conn = self._take(address)
        tx = Transformer()
        dumped = tx.dump_sequence(params, [PyFormat.TEXT] * len(params))
        result = conn.exec_params(text.encode(), list(dumped), list(tx.types))
        if conn.status != pq.ConnStatus.OK:
            conn.finish()
            raise StatementCompletionUnknown(
                f"the owner at {address.pg} took the write but the connection broke before it "
                "answered; it may or may not have been applied",
                hint="read the data to find out before retrying",
            )
        self._give_back(address, conn)
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise self._error(*_diagnostics(result))
        tag = (result.command_status or b"").decode()
        return int(tag.rsplit(" ", 1)[-1]) if tag[-1:].isdigit() else -1

    def _take(self, address: Address) -> pq.abc.PGconn:
        key = (address.host, address.pg_port)
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                since, conn = idle.pop()
                if time.monotonic() - since < IDLE_SECONDS and _alive(conn):
                    return conn
                conn.finish()
        conninfo = (
            f"host={address.host} port={address.pg_port} user={self.user} dbname=elacsym "
            f"application_name={FORWARDED_PREFIX}{self.node_id} "
            f"connect_timeout={CONNECT_TIMEOUT_SECONDS}"
        )
        conn = pq.PGconn.connect(conninfo.encode())
        if conn.status != pq.ConnStatus.OK:
            message = (conn.error_message or b"").decode(errors="replace").strip()
            conn.finish()
            raise NotSent(message)
        return conn

    def _give_back(self, address: Address, conn: pq.abc.PGconn) -> None:
        if conn.transaction_status != pq.TransactionStatus.IDLE:
            conn.finish()
            return
        with self._lock:
            self._idle.setdefault((address.host, address.pg_port), []).append(
                (time.monotonic(), conn)
            )

    def close(self) -> None:
        with self._lock:
            for idle in self._idle.values():
                for _, conn in idle:
                    conn.finish()
            self._idle.clear()


def _alive(conn: pq.abc.PGconn) -> bool:
    """Whether a pooled idle connection is still usable: an idle connection the owner has
    nothing to say on; anything readable is its goodbye (a shutdown, a restart) or EOF."""
    if conn.status != pq.ConnStatus.OK:
        return False
    readable, _, _ = select.select([conn.socket], [], [], 0)
    return not readable


def _diagnostics(result: pq.abc.PGresult) -> tuple[str, str, str | None, str | None]:
    def field(code: pq.DiagnosticField) -> str | None:
        raw = result.error_field(code)
        return None if raw is None else raw.decode(errors="replace")

    return (
        field(pq.DiagnosticField.SQLSTATE) or "XX000",
        field(pq.DiagnosticField.MESSAGE_PRIMARY) or "error at the namespace's owner",
        field(pq.DiagnosticField.MESSAGE_DETAIL),
        field(pq.DiagnosticField.MESSAGE_HINT),
    )
