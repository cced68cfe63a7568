"""PEP 249 (DB-API 2.0) connection and cursor over a Database.

Results of queries stream from the cursor's own DuckDB connection (or, for plain search
statements answered directly, from an Arrow table). Autocommit is on, as in DuckDB's Python
API: each statement is durable when `execute` returns. `begin()` (or `BEGIN`) opens a
transaction block shared by the connection's cursors; `commit()` and `rollback()` end it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import duckdb

from ..errors import InterfaceError, QueryCanceled
from ..interrupts import checking
from .database import Database, Params
from .parse import front_door
from .python_variables import caller_frame, register_caller_tables
from .results import Outcome, ResultSet

_COUNT_DESCRIPTION = [("Count", "BIGINT", None, None, None, None, None)]


class Cursor:
    arraysize = 1

    def __init__(self, connection: Connection, duck: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self._duck = duck
        self._outcome: Outcome | None = None
        self._count_rows: list[tuple[int]] = []
        self._closed = False
        self._canceled = False  # interrupt() was called during the running statement
        self._variables: list[str] = []  # the caller's tables registered for the last statement

    # -- executing -------------------------------------------------------------------------

    def execute(self, operation: str, parameters: Params = None) -> Cursor:
        self._begin(operation)
        with front_door(operation), checking(self._stop_if_canceled):
            self._outcome = self.connection.database.execute(
                self._duck, operation, parameters, self.connection.session
            )
        self._after()
        return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[Sequence[Any]]) -> Cursor:
        self._begin(operation)
        rows = list(seq_of_parameters)
        with front_door(operation), checking(self._stop_if_canceled):
            self._outcome = self.connection.database.execute_many(
                self._duck, operation, rows, self.connection.session
            )
        self._after()
        return self

    def _begin(self, operation: str) -> None:
        self._check_open()
        self._outcome = None
        self._canceled = False
        for name in self._variables:
            self._duck.unregister(name)
        database = self.connection.database
        self._variables = register_caller_tables(
            self._duck,
            operation,
            caller_frame(),
            lambda name: database.names_a_relation(self._duck, name),
        )
        # Nothing done yet: what runs before the statement proper (rewriting it reads the
        # store's schemas) may be canceled too, not only after SessionState.run starts it.
        self.connection.session.transaction.commit_point.start()

    def _after(self) -> None:
        outcome = self._outcome
        assert outcome is not None
        if outcome.kind == "count":
            self._count_rows = [(outcome.rowcount,)]

    # -- results ---------------------------------------------------------------------------

    @property
    def description(self) -> list[tuple[Any, ...]] | None:
        if self._outcome is None or self._outcome.kind == "none":
            return None
        if self._outcome.kind == "count":
            return _COUNT_DESCRIPTION
        assert self._outcome.result is not None
        return self._outcome.result.description

    @property
    def rowcount(self) -> int:
        return self._outcome.rowcount if self._outcome is not None else -1

    @property
    def outcome(self) -> Outcome | None:
        """What the last statement did: its command (the tag's verb) and row count."""
        return self._outcome

    def interrupt(self) -> None:
        """Cancel the statement this cursor is running, from another thread: it fails with
        57014, unless it has already taken effect (then it finishes and reports that)."""
        self._canceled = True  # for the engine's own loops (interrupts.py)
        self.connection.session.transaction.commit_point.interrupt(self._duck.interrupt)

    def _stop_if_canceled(self) -> None:
        if self._canceled and not self.connection.session.transaction.commit_point.passed:
            raise QueryCanceled("canceling statement due to user request")

    def _pending(self) -> ResultSet | None:
        if self._outcome is None:
            raise InterfaceError("no statement executed")
        return self._outcome.result

    def fetchone(self) -> tuple[Any, ...] | None:
        if (result := self._pending()) is not None:
            return result.fetchone()
        return self._count_rows.pop(0) if self._count_rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        size = self.arraysize if size is None else size
        if (result := self._pending()) is not None:
            return result.fetchmany(size)
        out, self._count_rows = self._count_rows[:size], self._count_rows[size:]
        return list(out)

    def fetchall(self) -> list[tuple[Any, ...]]:
        if (result := self._pending()) is not None:
            return result.fetchall()
        out, self._count_rows = self._count_rows, []
        return list(out)

    def fetchdf(self) -> Any:
        """The rest of the result as a pandas DataFrame (needs pandas)."""
        return self._require_rows("fetchdf").df()

    df = fetchdf

    def fetch_arrow_table(self) -> Any:
        """The rest of the result as a pyarrow Table."""
        return self._require_rows("fetch_arrow_table").arrow()

    arrow = fetch_arrow_table

    def fetchnumpy(self) -> dict[str, Any]:
        return self._require_rows("fetchnumpy").numpy()

    def _require_rows(self, what: str) -> ResultSet:
        if (result := self._pending()) is None:
            raise InterfaceError(f"{what}: the last statement returned no result set")
        return result

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    # -- DuckDB conveniences and DB-API odds and ends ---------------------------------------

    def register(self, view_name: str, python_object: Any) -> Cursor:
        """Make a DataFrame or Arrow table queryable by name on this cursor."""
        self._duck.register(view_name, python_object)
        return self

    def unregister(self, view_name: str) -> Cursor:
        self._duck.unregister(view_name)
        return self

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._duck.close()

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("cursor already closed")
        self.connection._check_open()

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Connection:
    def __init__(self, database: Database, owns_database: bool = True) -> None:
        self.database = database
        self._owns_database = owns_database
        self._closed = False
        # One session for all cursors: a transaction belongs to the connection (PEP 249).
        self.session = database.new_session_state()
        self._cursors: list[Cursor] = []
        self._default = self.cursor()

    def cursor(self) -> Cursor:
        self._check_open()
        cur = Cursor(self, self.database.session())
        self._cursors.append(cur)
        return cur

    # The DuckDB-style shortcuts: run on the connection's own cursor and return it.
    def execute(self, operation: str, parameters: Params = None) -> Cursor:
        return self._default.execute(operation, parameters)

    def executemany(self, operation: str, seq_of_parameters: Sequence[Sequence[Any]]) -> Cursor:
        return self._default.executemany(operation, seq_of_parameters)

    def register(self, view_name: str, python_object: Any) -> Connection:
        self._default.register(view_name, python_object)
        return self

    def unregister(self, view_name: str) -> Connection:
        self._default.unregister(view_name)
        return self

    def stats(self, namespace: str) -> dict[str, Any]:
        """Rows, segments, unindexed rows, cache hits and storage requests of a namespace."""
        return self.database.engine.stats(namespace)

    def begin(self) -> None:
        """Start a transaction block (as `BEGIN`); autocommit is on until then."""
        self.execute("BEGIN")

    def commit(self) -> None:
        """Commit the open transaction block; nothing to do outside one (autocommit)."""
        self._check_open()
        if self.session.transaction.state != "idle":
            self.execute("COMMIT")

    def rollback(self) -> None:
        """Roll the open transaction block back; nothing to do outside one."""
        self._check_open()
        if self.session.transaction.state != "idle":
            self.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self.session.transaction.state != "idle"

    def close(self) -> None:
        if self._closed:
            return
        for cur in self._cursors:
            cur.close()
        self.session.close()  # SQL cursors (DECLARE) still open
        self._closed = True
        if self._owns_database:
            self.database.close()

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("connection already closed")

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
