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
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ElacsymError, NotSupportedError
from ..sql import Outcome
from ..sql.client_settings import REPORTED
from ..sql.parse import front_door_error
from ..sql.pg_types import Column
from . import copy_statement
from . import frontend as f
from . import protocol as p
from .auth import AuthFailed, authenticate
from .copy import run_copy
from .copy_statement import CopyRequest, mentions_copy
from .errors import error_response, fatal
from .extended import Extended
from .rows import RowStream, first_messages, tag

if TYPE_CHECKING:
    from .listener import Server

log = logging.getLogger("elacsym.server")
T = TypeVar("T")
FLUSH_BYTES = 1 << 18  # write out once this much is buffered
WATCH_SECONDS = 0.25  # how often a running statement checks that its client is still there
DISCARD_SECONDS = 10.0  # the longest a refused message's body is read (and dropped)


class Session:
    def __init__(
        self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.db = server.database
        self.reader = reader
        self.writer = writer
        self.cur = self.db.session()
        self.state = self.db.new_session_state()
        self.pid = server.next_pid()
        self.secret = secrets.randbits(31)
        self.idle = asyncio.Event()  # set while waiting for the client's next message
        self._out: list[bytes | memoryview] = []
        self._buffered = 0
        self.extended = Extended(self)
        self.tls = False
        self.authenticated = False  # until then, only small password messages are read

    # -- plumbing ----------------------------------------------------------------------------

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (DuckDB, the engine) in the server's thread pool. A client that
        goes away meanwhile gets its statement interrupted: its resources are freed now,
        not when the statement would have ended."""
        future = asyncio.get_running_loop().run_in_executor(self.server.pool, fn, *args)
        while True:
            done, _ = await asyncio.wait({future}, timeout=WATCH_SECONDS)
            if done:
                return future.result()
            if self.reader.at_eof() or self.writer.transport.is_closing():
                self.cur.interrupt()

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

    def ready(self) -> None:
        self.send(p.ready_for_query(self.state.transaction.status))

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
            if await self.startup():
                await self.loop()
        except (asyncio.IncompleteReadError, OSError):
            pass  # the client went away, or its TLS broke
        except f.FrameError as exc:
            self._out.clear()
            self.send(fatal(exc.sqlstate, exc.message))
            await self.flush()
            if self.authenticated:
                await self._discard(exc.unread)
        finally:
            self.server.forget(self)
            self.idle.set()  # nothing runs here any more: shutdown need not wait for it
            self.writer.close()
            await self.run_sync(self.state.close)  # its SQL cursors' connections
            await self.run_sync(self.cur.close)

    async def _discard(self, n: int) -> None:
        """Read and drop up to `n` bytes (a refused message's body) for a while: a client
        still sending it reads why it was refused only once it is done, and closing on
        unread data would reset the connection before it could."""
        with contextlib.suppress(TimeoutError, OSError):
            async with asyncio.timeout(DISCARD_SECONDS):
                while n > 0 and (chunk := await self.reader.read(min(n, 1 << 16))):
                    n -= len(chunk)

    async def startup(self) -> bool:
        """SSL/GSS negotiation, the StartupMessage, authentication (auth.py). False: no session."""
        while True:
            code, body = await f.read_startup(self.reader)
            if code == f.SSL_REQUEST and self.server.tls is not None and not self.tls:
                self.writer.write(b"S")
                await self.writer.drain()
                await self.writer.start_tls(self.server.tls)
                self.tls = True
                continue
            if code in (f.SSL_REQUEST, f.GSSENC_REQUEST):
                self.writer.write(b"N")  # no TLS here: the client may go on in plain text
                await self.writer.drain()
                continue
            if code == f.CANCEL_REQUEST:
                pid, secret = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
                self.server.cancel(pid, secret)
                return False
            if code >> 16 != 3:
                self.send(
                    fatal("0A000", f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}")
                )
                await self.flush()
                return False
            break
        params = f.startup_parameters(body)
        settings = self.state.settings
        for name in (
            "application_name",
            "DateStyle",
            "TimeZone",
            "client_encoding",
            "extra_float_digits",
        ):
            if name in params:
                try:
                    settings.set(name, params[name])
                except ElacsymError as exc:
                    self.send(fatal(exc.sqlstate, exc.message))
                    await self.flush()
                    return False
        user = params.get("user", "elacsym")
        try:
            await authenticate(self, self.server.auth, self.server.users, user)
        except AuthFailed as exc:
            self.send(fatal(exc.sqlstate, str(exc)))
            await self.flush()
            return False
        except ElacsymError as exc:  # a password message that does not decode
            self.send(fatal(exc.sqlstate, exc.message))
            await self.flush()
            return False
        self.authenticated = True
        settings.values["session_authorization"] = user
        self.state.database = params.get("database") or user  # Postgres's default: the user
        settings.changed.clear()
        await self.run_sync(self.state.sync_variables, self.cur)
        self.send(p.AUTH_OK)
        for name in REPORTED:
            self.send(p.parameter_status(name, settings.values[name]))
        self.send(p.backend_key_data(self.pid, self.secret))
        self.ready()
        await self.flush()
        return True

    async def loop(self) -> None:
        while True:
            self.idle.set()
            msg = await self.read_message()
            self.idle.clear()
            if self.server.closing and msg.kind in (b"Q", b"S"):
                self.send(fatal("57P01", "terminating connection due to administrator command"))
                await self.flush()
                return
            if msg.kind == b"X":
                return
            if msg.kind in (b"d", b"c", b"f"):
                continue  # the rest of a COPY that failed: ignored, as in Postgres
            if msg.kind == b"Q":
                await self.simple_query(msg.body)
            elif msg.kind == b"F":
                self.fail(NotSupportedError("the function call message is not supported"))
            else:
                await self.extended.handle(msg)
                continue
            self.ready()
            await self.flush()

    # -- simple query ------------------------------------------------------------------------

    def fail(self, exc: BaseException, sql: str = "") -> None:
        """Answer an error: the transaction block, if any, is aborted (as in Postgres)."""
        self.state.transaction.fail()
        self.report_settings()
        self.send(error_response(front_door_error(exc, sql)))

    async def simple_query(self, body: bytes) -> None:
        """Every statement of the Query's text in turn, each result in text; stops at the
        first error. COPY to or from the client is this session's (copy.py); the rest, the
        router's."""
        ran = False
        sql = ""
        try:
            sql = f.parse_query(body)
            parts = await self.run_sync(copy_statement.split, sql) if mentions_copy(sql) else [sql]
            for part in parts:
                if isinstance(part, CopyRequest):
                    ran = True
                    await run_copy(self, part)
                    continue
                statements = self.db.execute_each(self.cur, part, None, session=self.state)
                while (await self.run_next(statements, [], 0, True, simple=True))[0] is not None:
                    ran = True
        except f.FrameError:
            raise  # the connection cannot go on (COPY data over the limit)
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
        await self.maybe_flush()
        while not stream.done and (not limit or stream.sent < limit):
            want = limit - stream.sent if limit else 0
            chunk, n = await self.run_sync(stream.next_chunk, want)
            if n:
                self.send(chunk)
            await self.maybe_flush()
        if limit and stream.sent >= limit and not stream.done:
            self.send(p.PORTAL_SUSPENDED)
            return stream
        self.send(p.command_complete(tag(stream.outcome, stream.sent)))
        return None
