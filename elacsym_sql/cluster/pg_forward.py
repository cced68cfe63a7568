"""Writes over the wire at a member that does not own the namespace go to the owner's
Postgres port over pooled libpq connections; the owner's command tag, rows, message and
SQLSTATE are the answer (decisions 0058, 0084).

The statement travels as the client sent it, with its parameters (already decoded by this
server) dumped again by psycopg as a psycopg client would send them; COPY FROM STDIN's
data travels as the client sent it. RETURNING's rows come back in text format, with the
owner's column descriptions, to be passed on unchanged.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.conninfo import make_conninfo

from ..errors import ElacsymError, OwnerUnavailable, StatementCompletionUnknown
from ..interrupts import check_interrupt
from .forward_login import FORWARDED_PREFIX, forward_password
from .membership import Member
from .routing import NotSent, Raise, View

IDLE_SECONDS = 30.0  # a pooled connection idle longer is closed, not reused
LOGIN_TIMEOUT_SECONDS = 5  # an owner that has not answered a login by then is taken for gone
COPY_CHUNK = 1 << 16  # COPY data goes to the owner in CopyData messages of this size
WAIT_STEP_SECONDS = 0.25  # how often a forwarded statement's wait looks for a cancel
_POLL_SETTLED = (pq.PollingStatus.OK, pq.PollingStatus.FAILED)  # a cancel or connect has ended


class NoAnswer(Exception):
    """The owner, asked to cancel a statement it was sent, stayed silent."""


@dataclass(frozen=True)
class Field:
    """A result column as the owner described it."""

    name: str
    oid: int
    size: int
    modifier: int


@dataclass(frozen=True)
class Answer:
    """The owner's answer to one statement: its command tag and, when it returned rows
    (RETURNING), their columns and text-format values as it sent them."""

    tag: str
    fields: tuple[Field, ...] = ()
    rows: tuple[tuple[bytes | None, ...], ...] = ()

    @property
    def count(self) -> int:
        """The rows the command tag counts (-1: none)."""
        return int(self.tag.rsplit(" ", 1)[-1]) if self.tag[-1:].isdigit() else -1


Key = tuple[str, int, str]  # the owner's host and port, and the user logged in there


class PgPool:
    def __init__(self, view: View, secret: str | None, error: Raise) -> None:
        """`view`: the members as this node sees them (who is live); `secret`: the cluster
        secret, when the members check passwords."""
        self._view = view
        self._secret = secret
        self._give_up = view.ttl  # how long an owner asked to cancel may stay silent (_wait)
        self._error = error  # the error class of a SQLSTATE (sql/errors.py knows them)
        self._idle: dict[Key, list[tuple[float, pq.abc.PGconn]]] = {}
        self._lock = threading.Lock()

    def execute(self, owner: Member, user: str, text: str, params: Sequence[Any]) -> Answer:
        """Run one statement at `owner` as `user` (the client's). NotSent when no
        connection could be made, StatementCompletionUnknown (40003) when it was sent and
        no answer came, the owner's error (its SQLSTATE) when it refused."""
        tx = Transformer()
        dumped = tx.dump_sequence(params, [PyFormat.TEXT] * len(params))

        def send(conn: pq.abc.PGconn) -> pq.abc.PGresult | None:
            conn.send_query_params(text.encode(), list(dumped), list(tx.types))
            return self._last_result(conn)

        return self._run(owner, user, send)

    def copy_in(self, owner: Member, user: str, text: str, data: bytes) -> Answer:
        """COPY ... FROM STDIN at `owner` with `data` (the client's CopyData, joined);
        fails as execute() does."""

        def send(conn: pq.abc.PGconn) -> pq.abc.PGresult | None:
            conn.send_query(text.encode())
            self._wait(conn)
            result = conn.get_result()
            if result is not None and result.status == pq.ExecStatus.COPY_IN:
                view = memoryview(data)
                for start in range(0, len(view), COPY_CHUNK):
                    conn.put_copy_data(view[start : start + COPY_CHUNK])
                conn.put_copy_end()
                return self._last_result(conn)
            return result

        return self._run(owner, user, send)

    def _last_result(self, conn: pq.abc.PGconn) -> pq.abc.PGresult | None:
        """The last result of the statement sent on `conn` (the one saying how it ended)."""
        result = None
        while True:
            self._wait(conn)
            last = conn.get_result()
            if last is None:
                return result
            result = last

    def _wait(self, conn: pq.abc.PGconn) -> None:
        """Until `conn` has a result to read. A cancel or statement_timeout of the client's
        statement (interrupts.py) is passed on to the owner, whose answer then says what
        happened (its 57014, or the write done); an owner silent for `give_up` seconds
        after that (stopped, cut off) raises NoAnswer: the write may have been applied."""
        canceled_at: float | None = None
        cancel: pq.abc.PGcancelConn | None = None  # libpq's non-blocking cancel request
        try:
            while True:
                conn.consume_input()
                if not conn.is_busy():
                    return
                if canceled_at is None:
                    try:
                        check_interrupt()
                    except ElacsymError:
                        canceled_at = time.monotonic()
                        cancel = _cancel_request(conn)
                elif time.monotonic() - canceled_at > self._give_up:
                    raise NoAnswer
                if cancel is not None and cancel.poll() in _POLL_SETTLED:
                    cancel.finish()
                    cancel = None
                select.select([conn.socket], [], [], WAIT_STEP_SECONDS)
        finally:
            if cancel is not None:
                cancel.finish()

    def _run(
        self, owner: Member, user: str, send: Callable[[pq.abc.PGconn], pq.abc.PGresult | None]
    ) -> Answer:
        assert owner.address is not None
        key = (owner.address.host, owner.address.pg_port, user)
        conn = self._take(key, owner.node_id)
        try:
            result = send(conn)
        except (psycopg.OperationalError, NoAnswer):  # the connection broke, or went silent
            result = None
        if result is None or conn.status != pq.ConnStatus.OK:
            conn.finish()
            raise StatementCompletionUnknown(
                f"the owner at {key[0]}:{key[1]} was sent the write but gave no answer (the "
                "connection broke, or it stayed silent after a cancel); it may or may not have "
                "been applied",
                hint="read the data to find out before retrying",
            )
        self._give_back(key, conn)
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise self._error(*_diagnostics(result))
        tag = (result.command_status or b"").decode()
        if result.status != pq.ExecStatus.TUPLES_OK:
            return Answer(tag)
        fields = tuple(
            Field(
                (result.fname(i) or b"").decode(),
                result.ftype(i),
                result.fsize(i),
                result.fmod(i),
            )
            for i in range(result.nfields)
        )
        rows = tuple(
            tuple(result.get_value(r, c) for c in range(result.nfields))
            for r in range(result.ntuples)
        )
        return Answer(tag, fields, rows)

    def _take(self, key: Key, owner_id: str) -> pq.abc.PGconn:
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                since, conn = idle.pop()
                if time.monotonic() - since < IDLE_SECONDS and _alive(conn):
                    return conn
                conn.finish()
        return self._connect(key, owner_id)

    def _connect(self, key: Key, owner_id: str) -> pq.abc.PGconn:
        """A new connection to the owner. Until it accepts the login (AuthenticationOk) it
        has LOGIN_TIMEOUT_SECONDS, else it is taken for gone (NotSent). After that, its
        session's start may wait for the owner's busy threads: a busy owner is not a dead
        one, so that is waited for as long as the owner heartbeats (and the client's
        statement is not canceled)."""
        host, port, user = key
        login = {"password": forward_password(self._secret, user)} if self._secret else {}
        conninfo = make_conninfo(
            host=host,
            port=port,
            user=user,
            dbname="elacsym",
            application_name=f"{FORWARDED_PREFIX}{self._view.node_id}",
            **login,
        )
        conn = pq.PGconn.connect_start(conninfo.encode())
        started = time.monotonic()
        try:
            while (polled := conn.connect_poll()) not in _POLL_SETTLED:
                if conn.status != pq.ConnStatus.AUTH_OK:
                    if time.monotonic() - started > LOGIN_TIMEOUT_SECONDS:
                        raise NotSent(f"no answer to a login in {LOGIN_TIMEOUT_SECONDS} s")
                elif not self._live(owner_id):
                    raise NotSent("the owner stopped heartbeating while its session started")
                check_interrupt()  # nothing was sent: the client's cancel ends it here
                reading = polled == pq.PollingStatus.READING
                ready = ([conn.socket], []) if reading else ([], [conn.socket])
                select.select(*ready, [], WAIT_STEP_SECONDS)
        except BaseException:
            conn.finish()
            raise
        if conn.status != pq.ConnStatus.OK:
            message = (conn.error_message or b"").decode(errors="replace").strip()
            refused = conn.needs_password or "authentication failed" in message
            conn.finish()
            if refused:  # it answered, and will answer the same: no point in waiting
                raise OwnerUnavailable(
                    f"the namespace's owner at {host}:{port} refused this member's login; "
                    "nothing was written",
                    detail=message,
                    hint="give every member the same --cluster-secret",
                )
            raise NotSent(message)
        return conn

    def _live(self, node_id: str) -> bool:
        member = self._view.member(node_id)
        return member is not None and member.live

    def _give_back(self, key: Key, conn: pq.abc.PGconn) -> None:
        if conn.transaction_status != pq.TransactionStatus.IDLE:
            conn.finish()
            return
        with self._lock:
            self._idle.setdefault(key, []).append((time.monotonic(), conn))

    def close(self) -> None:
        with self._lock:
            for idle in self._idle.values():
                for _, conn in idle:
                    conn.finish()
            self._idle.clear()


def _cancel_request(conn: pq.abc.PGconn) -> pq.abc.PGcancelConn | None:
    """A cancel request on its way to the owner, or None with a libpq older than 17 (no
    non-blocking cancel; the give-up bound of _wait still holds)."""
    try:
        cancel = conn.cancel_conn()
    except psycopg.NotSupportedError:
        return None
    cancel.start()
    return cancel


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
