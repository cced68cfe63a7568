"""The extended query protocol: Parse, Bind, Describe, Execute, Close, Sync, Flush.

Statements and portals live per session, named or unnamed. Describe binds a statement
without running it (sql/describe.py). After an error, messages are skipped until Sync,
as the protocol requires.

Drivers send Bind, Describe (portal), Execute, Sync together for every statement. A
portal's Describe is therefore answered lazily: if the next message executes that portal,
the RowDescription is taken from the result itself (no second bind of the statement);
any other next message gets it computed first. Nothing is sent before Sync or Flush, so
the client sees the same messages in the same order either way.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import (
    DuplicatePreparedStatement,
    ElacsymError,
    FrameError,
    InvalidSqlStatementName,
    ProtocolViolation,
)
from ..sql.describe import Description, describe
from ..sql.pg_catalog import pg_types as t
from . import frontend as f
from . import protocol as p
from .copy import run_copy
from .copy_statement import CopyRequest, mentions_copy, parse_copy
from .errors import error_response
from .params import decode
from .rows import RowStream, row_description
from .statement_size import check_statement

if TYPE_CHECKING:
    from .session import Session


@dataclass
class Prepared:
    query: str
    param_oids: list[int]  # from Parse; 0 where the client left it open
    description: Description | None = None  # once described
    copy: CopyRequest | None = None  # COPY to or from the client (copy.py)


@dataclass
class Portal:
    statement: Prepared
    params: list[Any]
    result_formats: list[int]
    columns: list[t.Column] | None = None  # once described
    described: bool = False
    stream: RowStream | None = None  # a suspended result
    finished: bool = False


@dataclass
class Extended:
    session: Session
    statements: dict[str, Prepared] = field(default_factory=dict)
    portals: dict[str, Portal] = field(default_factory=dict)
    skipping: bool = False  # after an error, until Sync
    deferred: str | None = None  # a portal whose Describe is not answered yet
    query: str = ""  # the text the current message concerns: a syntax error's position

    async def handle(self, msg: f.Message) -> None:
        s = self.session
        if self.deferred is not None and not self._executes(msg, self.deferred):
            name, self.deferred = self.deferred, None
            await self._guarded(self._describe_portal(name))
        if msg.kind == b"S":
            if msg.body:  # answered, and still a Sync (as in Postgres)
                s.send(error_response(ProtocolViolation("invalid message format")))
            self.skipping = False
            self.portals.pop("", None)
            s.ready()
            await s.flush()
            return
        if msg.kind == b"H":
            await s.flush()
            return
        if self.skipping:
            return
        await self._guarded(self._dispatch(msg))
        await s.maybe_flush()

    async def _guarded(self, step: Coroutine[Any, Any, None]) -> None:
        """Run one message's work; an error is answered and the rest skipped until Sync."""
        self.query = ""
        try:
            await step
        except (FrameError, ConnectionError):
            raise  # the connection cannot go on (COPY data over the limit, client gone)
        except Exception as exc:
            self.skipping = True
            self.session.fail(exc, self.query)

    async def _dispatch(self, msg: f.Message) -> None:
        if msg.kind == b"P":
            self.parse(f.parse_parse(msg.body))
        elif msg.kind == b"B":
            await self.bind(f.parse_bind(msg.body))
        elif msg.kind == b"D":
            await self.describe(*f.parse_target(msg.body, "DESCRIBE"))
        elif msg.kind == b"E":
            await self.execute(*f.parse_execute(msg.body))
        else:  # b"C": the session passes only extended-protocol messages here
            which, name = f.parse_target(msg.body, "CLOSE")
            (self.statements if which == b"S" else self.portals).pop(name, None)
            self.session.send(p.CLOSE_COMPLETE)

    @staticmethod
    def _executes(msg: f.Message, portal: str) -> bool:
        try:
            return msg.kind == b"E" and f.parse_execute(msg.body)[0] == portal
        except ElacsymError:
            return False  # not an Execute that decodes: it fails in its own turn

    def parse(self, msg: f.Parse) -> None:
        self.query = msg.query
        check_statement(msg.query, self.session.server.options)
        if msg.name and msg.name in self.statements:
            raise DuplicatePreparedStatement(f'prepared statement "{msg.name}" already exists')
        request = parse_copy(msg.query) if mentions_copy(msg.query) else None
        self.statements[msg.name] = Prepared(msg.query, msg.param_oids, copy=request)
        self.session.send(p.PARSE_COMPLETE)

    async def bind(self, msg: f.Bind) -> None:
        stmt = self.statements.get(msg.statement)
        if stmt is None:
            raise InvalidSqlStatementName(f'prepared statement "{msg.statement}" does not exist')
        self.query = stmt.query
        formats = f.per_column(msg.param_formats, len(msg.values))
        given = stmt.param_oids + [0] * len(formats)
        if stmt.description is None and any(
            fmt == 0 and raw is not None and raw[:1] == b"{" and oid == 0
            for raw, fmt, oid in zip(msg.values, formats, given, strict=False)
        ):
            # An untyped '{...}' is an array literal where the statement wants an array
            # (Postgres types it from context; DuckDB's lists are written [...]).
            s = self.session
            stmt.description = await s.run_sync(describe, s.db, s.cur, stmt.query, s.state, None)
        oids = self._param_oids(stmt, len(msg.values))
        params = [
            decode(raw, oid, fmt == 1)
            for raw, oid, fmt in zip(msg.values, oids, formats, strict=True)
        ]
        self.portals[msg.portal] = Portal(stmt, params, msg.result_formats)
        self.session.send(p.BIND_COMPLETE)

    @staticmethod
    def _param_oids(stmt: Prepared, n: int) -> list[int]:
        """The type of each parameter: the client's, else what Describe told it."""
        oids = list(stmt.param_oids) + [0] * (n - len(stmt.param_oids))
        described = stmt.description.parameters if stmt.description else []
        for i, oid in enumerate(oids):
            if oid == 0 and i < len(described) and described[i] is not None:
                oids[i] = t.pg_type_of(described[i] or "")[0]
        return oids[:n]

    async def describe(self, which: bytes, name: str) -> None:
        s = self.session
        if which == b"S":
            stmt = self.statements.get(name)
            if stmt is None:
                raise InvalidSqlStatementName(f'prepared statement "{name}" does not exist')
            self.query = stmt.query
            if stmt.copy is not None:
                stmt.description = Description([], None)
            if stmt.description is None:
                stmt.description = await s.run_sync(
                    describe, s.db, s.cur, stmt.query, s.state, None
                )
            oids = self._param_oids(stmt, len(stmt.description.parameters))
            s.send(p.parameter_description([oid or t.TEXT for oid in oids]))
            columns = stmt.description.columns
            if columns is None:
                s.send(p.NO_DATA)
            else:
                cols = [t.column(n, ty) for n, ty in columns]
                s.send(row_description(cols, [0] * len(cols)))
            return
        portal = self.portals.get(name)
        cursor = s.state.cursors.open.get(name) if portal is None else None
        if cursor is not None:  # a DECLAREd cursor is a portal too (psycopg describes it)
            cols = [t.column(n, ty) for n, ty in zip(cursor.names, cursor.wire_types, strict=True)]
            s.send(row_description(cols, [int(cursor.binary)] * len(cols)))
            return
        if portal is None:
            raise InvalidSqlStatementName(f'portal "{name}" does not exist')
        if portal.statement.copy is not None:
            portal.described = True
        if portal.described:
            self._send_description(portal)
        else:
            self.deferred = name  # answered by the next message (see the module's doc)

    async def _describe_portal(self, name: str) -> None:
        s = self.session
        portal = self.portals[name]
        self.query = portal.statement.query
        found = await s.run_sync(
            describe, s.db, s.cur, portal.statement.query, s.state, portal.params
        )
        portal.described = True
        if found.columns is not None:
            portal.columns = [t.column(n, ty) for n, ty in found.columns]
        self._send_description(portal)

    def _send_description(self, portal: Portal) -> None:
        if portal.columns is None:
            self.session.send(p.NO_DATA)
        else:
            formats = f.per_column(portal.result_formats, len(portal.columns))
            self.session.send(row_description(portal.columns, formats))

    async def free_cursor(self) -> None:
        """The session's cursor is about to run something else: suspended portals read
        what is left of their results first (a streamed result holds the cursor)."""
        for portal in self.portals.values():
            if portal.stream is not None:
                await self.session.run_sync(portal.stream.materialize)

    async def execute(self, name: str, limit: int) -> None:
        s = self.session
        portal = self.portals.get(name)
        if portal is None:
            raise InvalidSqlStatementName(f'portal "{name}" does not exist')
        self.query = portal.statement.query
        describe, self.deferred = self.deferred == name, None
        if portal.stream is not None:  # resume a suspended result
            stream, portal.stream = portal.stream, None
            if describe:
                self._send_description(portal)
            portal.stream = await s.stream_rows(stream, limit + stream.sent if limit else 0)
            return
        if portal.finished:
            if describe:
                self._send_description(portal)
            s.send(p.command_complete("SELECT 0"))
            return
        await self.free_cursor()
        if portal.statement.copy is not None:
            portal.finished = True
            await run_copy(s, portal.statement.copy)
            return
        statements = s.db.execute_each(
            s.cur, portal.statement.query, portal.params, session=s.state
        )
        try:
            outcome, portal.stream = await s.run_next(
                statements, portal.result_formats, max(limit, 0), describe, portal.columns
            )
        finally:
            portal.finished = True
            statements.close()
        if outcome is None:
            if describe:
                s.send(p.NO_DATA)
            s.send(p.EMPTY_QUERY)
        elif portal.stream is not None:  # a later Describe of this portal tells these columns
            portal.described, portal.columns = True, list(portal.stream.columns)
