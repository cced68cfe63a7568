"""What one session (an embedded cursor or a server connection) carries between statements:
its transaction block, its client settings, its SQL cursors and what it may do with
files.

`Database.execute_each` consults it for each statement: transaction control and client
SET/SHOW are answered here; everything else runs through the router, and its success
(and whether it wrote) or failure moves the transaction block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import duckdb
import pyarrow as pa

from ...errors import ElacsymError
from ..command_tags import command_tag
from ..parse import Statement
from ..pg_catalog.install import unqualify_catalog_calls
from ..results import ArrowResult, Outcome
from .client_settings import ClientSettings
from .cursor_statements import CursorStatement, Fetch, parse_cursor_statement
from .cursors import Cursors, RunOn
from .sandbox import FileAccess
from .search_path import path_of
from .setting_values import size_bytes
from .statement_memory import limited
from .transactions import TransactionBlock
from .txn_control import Control, parse_control

# The session's own temporary tables, views and sequences (DuckDB's, per connection), by
# kind: created in a block that rolls back, they go as in Postgres; the block's snapshot
# views of namespaces (transactions.py) are gone by then.
_TEMP = """SELECT 'TABLE', table_name FROM duckdb_tables() WHERE database_name = 'temp'
  UNION ALL SELECT 'VIEW', view_name FROM duckdb_views()
    WHERE database_name = 'temp' AND NOT internal AND NOT starts_with(view_name, '__elacsym')
  UNION ALL SELECT 'SEQUENCE', sequence_name FROM duckdb_sequences()
    WHERE database_name = 'temp'"""
log = logging.getLogger(__name__)
_DROP_ORDER = {"VIEW": 0, "TABLE": 1, "SEQUENCE": 2}  # a SERIAL's sequence after its table


def temp_relations(cur: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return {(kind, name) for kind, name in cur.execute(_TEMP).fetchall()}


def drop_temp_relations(cur: duckdb.DuckDBPyConnection, made: set[tuple[str, str]]) -> None:
    for kind, name in sorted(made, key=lambda r: _DROP_ORDER[r[0]]):
        cur.execute(f'DROP {kind} IF EXISTS temp.main."{name.replace(chr(34), chr(34) * 2)}"')


class SessionState:
    def __init__(
        self,
        duck_settings: set[str],
        transaction: TransactionBlock,
        new_duck: Callable[[], duckdb.DuckDBPyConnection],
        access: FileAccess,
    ) -> None:
        self.transaction = transaction
        self.access = access  # what its statements may do with files (sandbox.py)
        self.settings = ClientSettings(duck_settings)
        self.deallocated: list[str] = []  # DEALLOCATE names (or ALL) not yet applied
        self.cursors = Cursors(new_duck)
        self.database = "elacsym"  # what current_database() answers: the one asked for
        self._temp_at_begin: set[tuple[str, str]] | None = None  # the block's start's

    def run(
        self,
        cur: duckdb.DuckDBPyConnection,
        stmt: Statement,
        execute: RunOn,
    ) -> Outcome:
        """One statement: answered here, or by `execute` (the router) on `cur` (or on a
        cursor's own connection)."""
        self.transaction.commit_point.start()  # each statement takes effect on its own
        shown = self.settings.values["statement_memory_limit"]
        with limited(size_bytes(shown), shown):
            return self._run(cur, stmt, execute)

    def _run(self, cur: duckdb.DuckDBPyConnection, stmt: Statement, execute: RunOn) -> Outcome:
        tx = self.transaction
        control = parse_control(stmt.text)
        if control is not None:
            return Outcome("none", self._control(cur, control))
        tx.check()
        try:
            cursor_stmt = parse_cursor_statement(stmt.text)
            if cursor_stmt is not None:
                return self._cursor_statement(cur, cursor_stmt, execute)
            ours = self.settings.intercept(stmt)
            if ours is not None:
                verb, name = ours
                if verb == "SHOW" and name is not None:
                    return Outcome("rows", "SHOW", result=self._show(cur, name))
                if verb in ("SET", "RESET", "DISCARD"):
                    self.sync_variables(cur)
                if verb == "DEALLOCATE" and name is not None:
                    self.deallocated.append(name)  # the server drops these statements
                return Outcome("none", command_tag(stmt.text) if verb == "DISCARD" else verb)
            return execute(unqualify_catalog_calls(stmt), cur)
        except ElacsymError:
            tx.fail()
            raise

    def _cursor_statement(
        self, cur: duckdb.DuckDBPyConnection, stmt: CursorStatement, execute: RunOn
    ) -> Outcome:
        def run_on(inner: Statement, duck: duckdb.DuckDBPyConnection) -> Outcome:
            return execute(unqualify_catalog_calls(inner), duck)

        tx = self.transaction
        outcome = self.cursors.run(stmt, tx.state == "block", tx.depth, run_on, cur)
        if not isinstance(stmt, Fetch):
            self._publish_cursors(cur)
        return outcome

    def _publish_cursors(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Hand the open cursors to SQL's pg_cursors (a DuckDB variable, as settings are)."""
        cur.execute(
            "SET VARIABLE elacsym_cursors = ?::STRUCT(name VARCHAR, statement VARCHAR, "
            "is_holdable BOOLEAN, is_binary BOOLEAN, creation_time TIMESTAMPTZ)[]",
            [self.cursors.listing()],
        )

    def _control(self, cur: duckdb.DuckDBPyConnection, control: Control) -> str:
        """BEGIN/COMMIT/ROLLBACK/savepoints; a block's end ends its cursors too."""
        tx = self.transaction
        ending = control.verb in ("commit", "rollback") and tx.state != "idle"
        had_cursors = bool(self.cursors.open)
        if ending and control.verb == "commit" and tx.state == "block":
            try:
                self.cursors.before_commit()
            except Exception:  # a failed COMMIT ends the block, rolled back, as in Postgres
                self.cursors.end_block(committed=False)
                tx.control(Control("rollback"))
                self._publish_cursors(cur)
                raise
        committed = False
        if control.verb == "begin" and tx.state == "idle":
            self._temp_at_begin = temp_relations(cur)
        try:
            verb = tx.control(control)
            tx.show_hidden(cur)  # tables its DROPs hid from the catalog, after ROLLBACK TO
            committed = verb == "COMMIT"
            if control.verb == "rollback_to" and had_cursors:
                self.cursors.rolled_back_to(tx.depth)
                self._publish_cursors(cur)
            return verb
        finally:
            if ending and had_cursors:
                self.cursors.end_block(committed)
                self._publish_cursors(cur)
            if ending:
                tx.show_hidden(cur)
                if not committed and self._temp_at_begin is not None:
                    drop_temp_relations(cur, temp_relations(cur) - self._temp_at_begin)
                self._temp_at_begin = None

    def close(self) -> None:
        """The session ended: its cursors' connections are closed, and a block still open
        is rolled back (the tables it created go: decision 0071)."""
        self.cursors.close_all()
        if self.transaction.state != "idle":
            try:
                self.transaction.control(Control("rollback"))
            except Exception:  # the session is gone: nobody to tell but the log
                log.exception("rolling back the transaction block of a closed session failed")

    def guard(self, execute: Callable[[], Outcome | None]) -> Outcome | None:
        """A read answered outside the statement loop (the direct search path)."""
        if self.transaction.state != "idle":
            # A failed block refuses it in the statement loop; a block reads its own snapshot.
            return None
        self.transaction.commit_point.start()  # a read: it never takes effect
        try:
            return execute()
        except ElacsymError:
            self.transaction.fail()
            raise

    def _show(self, cur: duckdb.DuckDBPyConnection, name: str) -> ArrowResult:
        if name.upper() == "ALL":
            items = sorted(self.settings.values.items(), key=lambda kv: kv[0].lower())
            table = pa.table({"name": [k for k, _ in items], "setting": [v for _, v in items]})
            return ArrowResult(table, ["VARCHAR", "VARCHAR"], cur)
        value = self.settings.get(name)
        return ArrowResult(pa.table({name.lower(): [value or ""]}), ["VARCHAR"], cur)

    def sync_variables(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Hand the settings to SQL's current_setting() (a DuckDB variable per connection)."""
        keys = list(self.settings.values)
        cur.execute(
            "SET VARIABLE elacsym_settings = MAP(?::VARCHAR[], ?::VARCHAR[])",
            [[k.lower() for k in keys], [self.settings.values[k] for k in keys]],
        )
        cur.execute("SET VARIABLE elacsym_database = ?::VARCHAR", [self.database])
        path = list(path_of(self.settings.values.get("search_path") or ""))
        cur.execute("SET VARIABLE elacsym_path = ?::VARCHAR[]", [path])
