"""A session's SQL cursors: DECLARE ... CURSOR, FETCH, MOVE, CLOSE, as Postgres has them.

A cursor's query runs on a DuckDB connection of its own, so other statements of the
session run while it is open, and its rows stream: FETCH reads only as many of DuckDB's
chunks as it returns. Cursors scan forward only (a backward FETCH is 55000, as for a
NO SCROLL cursor in Postgres). Without WITH HOLD a cursor lives inside its transaction
block and ends with it (DECLARE outside one is 25P01). A WITH HOLD cursor survives
COMMIT: one declared in a block has its remaining rows read into memory at COMMIT (as
Postgres does), since the block's snapshot goes away; one declared outside a block keeps
streaming. ROLLBACK drops the cursors its block declared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
from sqlglot import exp

from ...errors import (
    DuplicateCursor,
    InvalidCursorName,
    NoActiveTransaction,
    ObjectNotInPrerequisiteState,
    SyntaxError,
)
from ..parse import Statement, split_statements
from ..results import ArrowResult, Outcome
from .cursor_statements import Close, CursorStatement, Declare, Fetch
from .statement_memory import charge

CHUNK_ROWS = 2048  # DuckDB's vector size: one chunk per read
# Runs a statement on a given DuckDB connection through the router.
RunOn = Callable[[Statement, duckdb.DuckDBPyConnection], Outcome]


class FetchedRows(ArrowResult):
    """The rows of one FETCH; `binary`: from a BINARY cursor (the simple protocol sends
    them in binary)."""

    def __init__(
        self, table: pa.Table, types: list[str], cur: duckdb.DuckDBPyConnection, binary: bool
    ) -> None:
        super().__init__(table, types, cur)
        self.binary = binary


@dataclass
class OpenCursor:
    name: str
    duck: duckdb.DuckDBPyConnection | None  # None once its rows are in memory or read
    names: list[str]
    types: list[str]  # DuckDB's SQL text of each column's type
    binary: bool
    hold: bool
    in_block: bool  # declared in the current transaction block (its ROLLBACK drops it)
    depth: int  # savepoints set when declared (ROLLBACK TO an earlier one drops it)
    statement: str = ""  # the DECLARE, as pg_cursors shows it
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    _batches: Iterator[pa.RecordBatch] = field(default_factory=lambda: iter(()))
    _buffer: list[pa.RecordBatch] = field(default_factory=list)
    position: int = 0  # rows read so far
    declared: list[str] | None = None  # the wire's types where DuckDB's differ (Outcome.types)

    @property
    def wire_types(self) -> list[str]:
        """Each column's type as the wire sends it (declared_types.py)."""
        return self.declared or self.types

    def take(self, count: int | None) -> pa.Table:
        """The next `count` rows (None: all that are left), fewer at the end."""
        have = sum(b.num_rows for b in self._buffer)
        while count is None or have < count:
            batch = next(self._batches, None)
            if batch is None:
                self._release()  # every row read: the connection is no longer needed
                break
            self._buffer.append(batch)
            have += batch.num_rows
        if not self._buffer:
            return pa.table({n: pa.array([], pa.null()) for n in self.names})
        table = pa.Table.from_batches(self._buffer)
        self._buffer = []
        if count is not None and table.num_rows > count:
            self._buffer = table.slice(count).to_batches()
            table = table.slice(0, count)
        self.position += table.num_rows
        return table

    def materialize(self) -> None:
        """Read every row left into memory: the cursor no longer needs its connection."""
        if self.duck is not None:
            for batch in self._batches:
                charge(batch.nbytes, f'the rows of WITH HOLD cursor "{self.name}"')
                self._buffer.append(batch)
            self._batches = iter(())
            self._release()

    def _release(self) -> None:
        if self.duck is not None:
            self.duck.close()
            self.duck = None

    def close(self) -> None:
        self._batches = iter(())
        self._buffer = []
        self._release()


class Cursors:
    """The open cursors of one session, by name."""

    def __init__(self, new_duck: Callable[[], duckdb.DuckDBPyConnection]) -> None:
        self._new_duck = new_duck
        self.open: dict[str, OpenCursor] = {}

    def get(self, name: str) -> OpenCursor:
        cursor = self.open.get(name)
        if cursor is None:
            raise InvalidCursorName(f'cursor "{name}" does not exist')
        return cursor

    def run(
        self,
        stmt: CursorStatement,
        in_block: bool,
        depth: int,
        run_on: RunOn,
        cur: duckdb.DuckDBPyConnection,
    ) -> Outcome:
        if isinstance(stmt, Declare):
            self._declare(stmt, in_block, depth, run_on)
            return Outcome("none", "DECLARE CURSOR")
        if isinstance(stmt, Close):
            if stmt.name is None:
                self.close_all()
            else:
                self.get(stmt.name).close()
                del self.open[stmt.name]
            return Outcome("none", "CLOSE CURSOR")
        return self._fetch(stmt, cur)

    def _declare(self, stmt: Declare, in_block: bool, depth: int, run_on: RunOn) -> None:
        if not stmt.hold and not in_block:
            raise NoActiveTransaction("DECLARE CURSOR can only be used in transaction blocks")
        if stmt.name in self.open:
            raise DuplicateCursor(f'cursor "{stmt.name}" already exists')
        statements = split_statements(stmt.query)
        if len(statements) != 1 or not isinstance(statements[0].tree, exp.Query | exp.Values):
            raise SyntaxError("DECLARE CURSOR needs a SELECT or VALUES query")
        duck = self._new_duck()
        try:
            outcome = run_on(statements[0], duck)
            assert outcome.result is not None
            description = outcome.result.description
            cursor = OpenCursor(
                stmt.name,
                duck,
                [d[0] for d in description],
                [str(d[1]) for d in description],
                stmt.binary,
                stmt.hold,
                in_block,
                depth,
                stmt.text,
                _batches=iter(outcome.result.batches(CHUNK_ROWS)),
                declared=outcome.types,
            )
        except BaseException:
            duck.close()
            raise
        self.open[stmt.name] = cursor

    def _fetch(self, stmt: Fetch, cur: duckdb.DuckDBPyConnection) -> Outcome:
        cursor = self.get(stmt.name)
        count = stmt.count
        if stmt.absolute is not None:  # forward to row n, which is the one returned
            if stmt.absolute <= cursor.position:
                count = -1
            else:
                cursor.take(stmt.absolute - cursor.position - 1)
                count = 1
        if count is not None and count < 0:
            raise ObjectNotInPrerequisiteState(
                "cursor can only scan forward",
                hint="Declare it with SCROLL option to enable backward scan.",
            )
        table = cursor.take(count)
        if stmt.move:
            return Outcome("count", "MOVE", table.num_rows)
        result = FetchedRows(table, cursor.types, cur, cursor.binary)
        return Outcome("rows", "FETCH", result=result, types=cursor.declared)

    def before_commit(self) -> None:
        """WITH HOLD cursors of the committing block keep their rows beyond it."""
        for cursor in self.open.values():
            if cursor.in_block and cursor.hold:
                cursor.materialize()

    def rolled_back_to(self, depth: int) -> None:
        """ROLLBACK TO a savepoint (`depth` savepoints remain): cursors declared since close."""
        for name, cursor in list(self.open.items()):
            if cursor.in_block and cursor.depth >= depth:
                cursor.close()
                del self.open[name]

    def end_block(self, committed: bool) -> None:
        """The block ended: its cursors without HOLD close, and on ROLLBACK those it declared."""
        for name, cursor in list(self.open.items()):
            if not cursor.hold or (cursor.in_block and not committed):
                cursor.close()
                del self.open[name]
            else:
                cursor.in_block = False

    def listing(self) -> list[dict[str, object]]:
        """The open cursors as pg_cursors lists them."""
        return [
            {
                "name": c.name,
                "statement": c.statement,
                "is_holdable": c.hold,
                "is_binary": c.binary,
                "creation_time": c.created,
            }
            for c in self.open.values()
        ]

    def close_all(self) -> None:
        for cursor in self.open.values():
            cursor.close()
        self.open.clear()
