"""One client connection: start-up, then simple and extended query messages.

Every statement goes through `Database.execute_each` (the one statement router) on this
session's own DuckDB cursor, in a worker thread: the event loop only moves bytes, so a
slow query does not stall other sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

from ..errors import FrameError, NotSupportedError
from ..interrupts import checking
from ..sql import Outcome
from ..sql.parse import front_door_error
from ..sql.pg_catalog.pg_types import Column
from ..sql.session.setting_values import milliseconds
from . import copy_statement, memory, session_log
from . import frontend as f
from . import protocol as p
from .copy import run_copy
from .copy_statement import CopyRequest, mentions_copy
from .errors import as_elacsym, error_response, fatal
from .extended import Extended
from .logs import event
from .rows import RowStream, first_messages, tag
from .startup import start
from .statement_clock import StatementClock
from .statement_size import check_statement

if TYPE_CHECKING:
    from .listener import Server

log = logging.getLogger("elacsym.server")
T = TypeVar("T")
FLUSH_BYTES = 1 << 18  # write out once this much is buffered
WATCH_SECONDS = 0.25  # how often a running statement checks that its client is still there
DISCARD_SECONDS = 10.0  # the longest a refused message's body is read (and dropped)
PAUSED_BYTES = 1 << 16  # asyncio's default high-water mark: past it, drain() waits
_TIMED = frozenset((b"Q", b"P", b"B", b"D", b"E"))  # messages that run statement_timeout
_IDLE = {  # in a transaction block or not: (setting, SQLSTATE, the FATAL's words)
    False: ("idle_in_transaction_session_timeout", "25P03", "idle-in-transaction"),
    True: ("idle_session_timeout", "57P05", "idle-session"),
}


class Session:
    def __init__(
        self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.pool = server.pool  # the threads its statements run on (startup.py may change it)
        self.db = server.database
        self.reader = reader
        self.writer = writer
        self.cur = self.db.session(streaming=True)
        self.state = self.db.new_session_state()
        self.pid = server.next_pid()
        self.secret = secrets.randbits(31)
        self.idle = asyncio.Event()  # set while waiting for the client's next message
        self._out: list[bytes | memoryview] = []
        self._buffered = 0
        self.extended = Extended(self)
        self.tls = False
        self.authenticated = False  # until then, only small password messages are read
        self.admitted = False  # counted against max_connections
        self.clock = StatementClock(self.interrupt, self.state.transaction.commit_point)
        self._at_ready = False  # ReadyForQuery sent, nothing read since: the idle timeouts run
        peer = writer.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) else str(peer or "local")
        self.user = ""
        self.opened = time.monotonic()
        self.ended = "client closed"  # how the session ended, for its log line
        self.sql = ""  # the text of the message being answered (logged at DEBUG only)

    # -- plumbing ----------------------------------------------------------------------------

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (DuckDB, the engine) in the server's thread pool. A client that
        goes away meanwhile gets its statement interrupted: its resources are freed now,
        not when the statement would have ended; work still queued for a busy pool is
        dropped (waiting for a worker would keep the session for as long as others run)."""
        job = self.pool.submit(self._interruptible, fn, *args)
        future = asyncio.wrap_future(job)
        gone = False  # the client hung up: whatever the work says next, nobody hears it
        while True:
            left = self.clock.remaining()
            wait = WATCH_SECONDS if left is None else min(WATCH_SECONDS, left + 0.001)
            done, _ = await asyncio.wait({future}, timeout=wait)
            if done:
                try:
                    return future.result()
                except Exception as exc:
                    if gone:
                        raise ConnectionResetError("the client went away") from exc
                    raise self.clock.explain(exc) from exc.__cause__
            self.clock.poll()
            if self.clock.reason is not None:
                self.clock.cancel(self.clock.reason)  # again: the first may have missed DuckDB
            if self.client_gone():
                if job.cancel():  # not started: nothing ran
                    raise ConnectionResetError("the client went away")
                gone = True
                self.interrupt()

    def _interruptible(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn` on a worker thread, its engine loops watching the statement's clock."""
        with checking(self.clock.raise_if_due):
            return fn(*args)

    def interrupt(self) -> None:
        """Interrupt the cursor's statement; a cursor closing meanwhile has none."""
        with contextlib.suppress(duckdb.ConnectionException):
            self.cur.interrupt()

    def statement_timeout(self) -> int:
        """The session's statement_timeout in milliseconds (0: none)."""
        return milliseconds(self.state.settings.values["statement_timeout"])

    async def read_message(self) -> f.Message:
        """The client's next message, within the limits of where the session is."""
        if not self.authenticated:
            return await f.read_message(self.reader, f.PRE_AUTH_MESSAGE, f.AUTHENTICATION)
        return await f.read_message(self.reader, self.server.max_message_size)

    def send(self, data: bytes | memoryview) -> None:
        self._out.append(data)
        self._buffered += len(data)

    async def flush(self) -> None:
        if self._out:
            self.writer.writelines(self._out)
            self._out, self._buffered = [], 0
        await self.writer.drain()

    async def maybe_flush(self) -> None:
        if self._buffered >= FLUSH_BYTES:
            await self.flush()

    async def flush_rows(self) -> None:
        """maybe_flush for a result's rows, holding one chunk while the client reads. The
        wait ends at the statement's deadline or a cancel (57014; not past the commit point:
        a write that took effect owes its rows) and when the client hung up, if only by a
        FIN (a proxy may keep the socket open): the session ends, its slot freed."""
        self._raise_if_gone()  # per chunk: rows for nobody are not encoded until buffers fill
        if self._buffered < FLUSH_BYTES:
            return
        self.writer.writelines(self._out)
        self._out, self._buffered = [], 0
        if self.writer.transport.get_write_buffer_size() <= PAUSED_BYTES:
            await self.writer.drain()
            return
        drain = asyncio.ensure_future(self.writer.drain())
        try:
            while not drain.done():
                left = None if self.clock.reason is not None else self.clock.remaining()
                wait = WATCH_SECONDS if left is None else min(WATCH_SECONDS, left + 0.001)
                await asyncio.wait({drain}, timeout=wait)
                if not drain.done():
                    self.clock.check()  # raises: canceled, or past the deadline
                    self._raise_if_gone()
        finally:
            drain.cancel()
        drain.result()

    def client_gone(self) -> bool:
        """The client hung up: its end of the stream closed, or the connection broke."""
        return self.reader.at_eof() or self.writer.transport.is_closing()

    def _raise_if_gone(self) -> None:
        if self.client_gone():
            raise ConnectionResetError("the client went away")

    def ready(self) -> None:
        self.send(p.ready_for_query(self.state.transaction.status))
        self._at_ready = True

    def report_settings(self) -> None:
        """ParameterStatus for changed settings; also applies DEALLOCATE."""
        for name in self.state.deallocated:
            statements = self.extended.statements
            if name.upper() == "ALL":
                statements.clear()
            else:
                statements.pop(name, None)
        self.state.deallocated.clear()
        changed = self.state.settings.changed
        for name in dict.fromkeys(changed):
            self.send(p.parameter_status(name, self.state.settings.values[name]))
        changed.clear()

    # -- life cycle --------------------------------------------------------------------------

    async def serve(self) -> None:
        try:
            try:
                async with asyncio.timeout(self.server.options.seconds("authentication_timeout")):
                    started = await start(self)
            except TimeoutError:
                self.ended = "authentication timeout"
                return  # as Postgres: closed without a word (the client is not authenticated)
            if started:
                await self.loop()
        except (asyncio.IncompleteReadError, OSError):
            # The client went away, or its TLS broke: what is still buffered for it is
            # dropped, not kept until a client that half-closed reads it (CLOSE_WAIT).
            self.writer.transport.abort()
        except FrameError as exc:
            self.ended = f"protocol error {exc.sqlstate}"
            self._out.clear()
            self.send(fatal(exc.sqlstate, exc.message))
            await self.flush()
            if self.authenticated:
                await self._discard(exc.unread)
        finally:
            session_log.closed(self)
            self.server.forget(self)
            self.idle.set()  # nothing runs here any more: shutdown need not wait for it
            self.writer.close()
            await asyncio.wrap_future(self.pool.submit(self._close_cursors))

    def _close_cursors(self) -> None:
        """Its SQL cursors' connections, then its own (in the pool: they may wait for DuckDB);
        not through run_sync, which would drop them for a client that has left."""
        self.state.close()
        self.cur.close()

    async def _discard(self, n: int) -> None:
        """Read and drop up to `n` bytes (a refused message's body) for a while: a client
        still sending it reads why it was refused only once it is done, and closing on
        unread data would reset the connection before it could."""
        with contextlib.suppress(TimeoutError, OSError):
            async with asyncio.timeout(DISCARD_SECONDS):
                while n > 0 and (chunk := await self.reader.read(min(n, 1 << 16))):
                    n -= len(chunk)

    async def next_message(self) -> f.Message | None:
        """The client's next message; None when an idle timeout closed the session."""
        if not self._at_ready:
            return await self.read_message()
        self._at_ready = False
        values = self.state.settings.values
        name, sqlstate, what = _IDLE[self.state.transaction.status == "I"]
        limit = milliseconds(values[name])
        if limit <= 0:
            return await self.read_message()
        try:
            async with asyncio.timeout(limit / 1000):
                return await self.read_message()
        except TimeoutError:
            self.send(fatal(sqlstate, f"terminating connection due to {what} timeout"))
            await self.flush()
            self.ended = f"{what} timeout"
            return None

    async def loop(self) -> None:
        while True:
            self.idle.set()
            msg = await self.next_message()
            if msg is None:
                return
            self.idle.clear()
            if msg.kind in _TIMED:
                self.clock.start(self.statement_timeout())
            try:
                if not await self.handle(msg):
                    return
            finally:
                self.clock.stop()
            if msg.kind in _TIMED:
                session_log.duration(self, msg.kind)
            self.sql = self.extended.query = ""  # a long text is not kept past its message
            if len(msg.body) >= memory.LARGE_MESSAGE:
                msg = None  # not held while the next message is awaited
                await self.run_sync(memory.trim)

    async def handle(self, msg: f.Message) -> bool:
        """Answer one message; False: the session ends."""
        if self.server.closing and msg.kind in (b"Q", b"S"):
            self.send(fatal("57P01", "terminating connection due to administrator command"))
            await self.flush()
            return False
        if msg.kind == b"X":
            return False
        if msg.kind in (b"d", b"c", b"f"):
            return True  # the rest of a COPY that failed: ignored, as in Postgres
        if msg.kind == b"Q":
            await self.simple_query(msg.body)
        elif msg.kind == b"F":
            self.fail(NotSupportedError("the function call message is not supported"))
        else:
            await self.extended.handle(msg)
            return True
        self.ready()
        await self.flush()
        return True

    # -- simple query ------------------------------------------------------------------------

    def fail(self, exc: BaseException, sql: str = "") -> None:
        """Answer an error: the transaction block, if any, is aborted (as in Postgres)."""
        self.state.transaction.fail()
        self.report_settings()
        err = as_elacsym(front_door_error(self.clock.explain(exc), sql))
        event(logging.INFO, "error", err.message, pid=self.pid, sqlstate=err.sqlstate)
        event(logging.DEBUG, "statement", f"failed: {sql}", pid=self.pid)
        self.send(error_response(err))

    async def simple_query(self, body: bytes) -> None:
        """Every statement of the Query's text in turn, each result in text; stops at the
        first error. COPY to or from the client is this session's (copy.py); the rest, the
        router's."""
        ran = False
        sql = self.sql = ""
        try:
            sql = self.sql = f.parse_query(body)
            check_statement(sql, self.server.options)
            await self.extended.free_cursor()
            parts = await self.run_sync(copy_statement.split, sql) if mentions_copy(sql) else [sql]
            for part in parts:
                if isinstance(part, CopyRequest):
                    ran = True
                    await run_copy(self, part)
                    continue
                statements = self.db.execute_each(self.cur, part, None, session=self.state)
                while True:
                    self.clock.renew(self.statement_timeout())
                    if (await self.run_next(statements, [], 0, True, simple=True))[0] is None:
                        break
                    ran = True
        except (FrameError, ConnectionError):
            raise  # the connection cannot go on (COPY data over the limit, client gone)
        except Exception as exc:
            self.fail(exc, sql)
            return
        if not ran:
            self.send(p.EMPTY_QUERY)

    async def run_next(
        self,
        statements: Iterator[Outcome],
        formats: list[int],
        limit: int,
        describe: bool,
        columns: list[Column] | None = None,
        simple: bool = False,
    ) -> tuple[Outcome | None, RowStream | None]:
        """Run the next statement and send its answer (rows.first_messages); one worker
        call runs it and encodes its first rows, so a small query costs one thread hop.
        Returns the outcome (None: no statements left) and the rows left when `limit`
        suspended them."""

        def step() -> tuple[Outcome | None, list[bytes | memoryview], RowStream | None]:
            outcome = next(statements, None)
            if outcome is None:
                return None, [], None
            fmts = [1] if simple and getattr(outcome.result, "binary", False) else formats
            messages = first_messages(outcome, fmts, limit, describe, columns, not simple)
            return outcome, *messages

        outcome, messages, stream = await self.run_sync(step)
        if outcome is None:
            return None, None
        self.report_settings()
        for message in messages:
            self.send(message)
        if stream is None:
            return outcome, None
        return outcome, await self.stream_rows(stream, limit)

    async def stream_rows(self, stream: RowStream, limit: int) -> RowStream | None:
        """The rest of a result's rows, up to `limit` rows in all (0: all), then
        CommandComplete, or PortalSuspended and the stream to resume."""
        try:
            await self.flush_rows()
            while not stream.done and (not limit or stream.sent < limit):
                self.clock.check()
                want = limit - stream.sent if limit else 0
                chunk, n = await self.run_sync(stream.next_chunk, want)
                if n:
                    self.send(chunk)
                await self.flush_rows()
        except BaseException:
            stream.close()  # frees the cursor for the session's next statement
            raise
        if limit and stream.sent >= limit and not stream.done:
            self.send(p.PORTAL_SUSPENDED)
            return stream
        self.send(p.command_complete(tag(stream.outcome, stream.sent)))
        return None
