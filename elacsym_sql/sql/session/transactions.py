"""A session's transaction block, as Postgres means it (docs/decisions/0021-transactions.md).

Outside a block every statement commits on its own. BEGIN opens an engine transaction
(engine/transaction.py): reads see the snapshot of each namespace's first use plus the
block's own writes, writes are staged, COMMIT makes them durable and visible all at once
(or fails with 40001 when another commit changed the same keys first), ROLLBACK drops
them; savepoints mark how much was staged. An error puts the block in the failed state,
where every statement answers 25P02 until ROLLBACK (or ROLLBACK TO a savepoint), as in
Postgres. Statement kinds come from txn_control.py, never from substrings.

The block's snapshot is shown to DuckDB as temporary views, one per namespace and DuckDB
connection, that shadow the shared views for that connection only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Literal

import duckdb

from ...engine import Transaction as EngineTransaction
from ...errors import ElacsymError, InFailedTransaction, InvalidSavepoint, NoActiveTransaction
from ..views import ViewCatalog, quote
from .commit_point import CommitPoint
from .txn_control import Control

State = Literal["idle", "block", "failed"]
Action = Callable[[], None]
HIDDEN = "elacsym_hidden"  # DuckDB variable: tables the block dropped (pg_catalog's rels)


class TransactionBlock:
    """One session's block: BEGIN ... COMMIT / ROLLBACK with savepoints."""

    def __init__(self, begin: Callable[[], EngineTransaction], views: ViewCatalog) -> None:
        self._begin = begin
        self._views = views
        self.state: State = "idle"
        self.engine_tx: EngineTransaction | None = None
        # (name, staged writes, deferred drops, undos) when each savepoint was set
        self._savepoints: list[tuple[str, int, int, int]] = []
        # DDL in a block (decision 0071): DROP TABLE waits for COMMIT (the names it drops
        # and how); CREATE TABLE takes effect at once and is undone by ROLLBACK.
        self._on_commit: list[tuple[tuple[str, ...], Action]] = []
        self._on_rollback: list[Action] = []
        # Per DuckDB connection, the dropped tables shown to it as gone (show_hidden).
        self._gone: dict[duckdb.DuckDBPyConnection, set[str]] = {}
        # Temporary views shown per DuckDB connection, with the snapshot token they show.
        self._shown: dict[tuple[duckdb.DuckDBPyConnection, str], tuple[object, ...]] = {}
        self.commit_point = CommitPoint()  # the running statement's (commit_point.py)

    @property
    def status(self) -> str:
        """ReadyForQuery's transaction status: idle, in a block, or in a failed block."""
        return {"idle": "I", "block": "T", "failed": "E"}[self.state]

    @property
    def depth(self) -> int:
        """How many savepoints are set."""
        return len(self._savepoints)

    @property
    def active(self) -> EngineTransaction | None:
        """The engine transaction statements run in, or None (each statement commits)."""
        return self.engine_tx if self.state == "block" else None

    def control(self, control: Control) -> str:
        """Apply BEGIN/COMMIT/ROLLBACK/savepoints; returns the command tag."""
        verb = control.verb
        if control.savepoint is not None:
            return self._savepoint(verb, control.savepoint)
        if verb == "begin":
            if self.state == "idle":
                self.state, self.engine_tx, self._savepoints = "block", self._begin(), []
            return "BEGIN"  # inside a block Postgres warns and carries on
        committing = verb == "commit" and self.state == "block"
        tx = self.engine_tx
        deferred, undo = self._on_commit, self._on_rollback
        try:
            if committing and tx is not None:
                for name in self.dropping:
                    tx.forget(name)  # dropped at COMMIT: its staged writes go with it
                tx.commit()  # 40001 here ends the block too, as a failed COMMIT does
            self.commit_point.reach()  # committed or rolled back: the block's end must finish
        except BaseException:
            self._end()
            _run_all(reversed(undo))
            raise
        self._end()
        _run_all([act for _, act in deferred] if committing else reversed(undo))
        return "COMMIT" if committing else "ROLLBACK"

    # -- DDL in a block ----------------------------------------------------------------------

    @property
    def dropping(self) -> set[str]:
        """Tables a DROP TABLE of the block drops at COMMIT."""
        return {name for names, _ in self._on_commit for name in names}

    def defer_drop(self, names: Iterable[str], drop: Action) -> None:
        """A DROP TABLE in the block: `drop` runs at COMMIT, never if it rolls back."""
        self._on_commit.append((tuple(names), drop))

    def drop_now(self, name: str) -> None:
        """Run the deferred DROP of `name` at once (a CREATE of the same name follows), and
        the block's DROPs before it, in their order (a referencing table goes first): they
        cannot be undone any more."""
        last = max(i for i, (names, _) in enumerate(self._on_commit) if name in names)
        self._drop_upto(last + 1)

    def drop_all_now(self) -> None:
        """Run every deferred DROP at once: a DROP TYPE, SEQUENCE or SCHEMA follows, which
        needs the tables gone. They cannot be undone any more."""
        self._drop_upto(len(self._on_commit))

    def _drop_upto(self, end: int) -> None:
        for i, (names, drop) in enumerate(self._on_commit[:end]):
            self._on_commit[i] = ((), _nothing)  # kept: savepoints count entries
            drop()
            if self.engine_tx is not None:
                for name in names:  # its staged writes go with it, as at COMMIT
                    self.engine_tx.forget(name)

    def undo_on_rollback(self, undo: Action) -> None:
        """A CREATE TABLE in the block: `undo` runs if the block (or a savepoint set before
        it) rolls back, or the session ends inside the block."""
        self._on_rollback.append(undo)

    def show_hidden(self, duck: duckdb.DuckDBPyConnection) -> None:
        """Show `duck` the tables the block dropped as gone: pg_class leaves them out (a
        DuckDB variable its `rels` reads) and reading one is 42P01 (a temporary view that
        raises it shadows the namespace's view), until COMMIT drops them or ROLLBACK
        brings them back."""
        hidden = self.dropping if self.state != "idle" else set()
        shown = self._gone.pop(duck, set())
        if not hidden and not shown:
            return
        for name in hidden - shown:
            self._views.hide_snapshot(duck, name)
            self._shown.pop((duck, name), None)
            _show_gone(duck, name, self._columns(name))
        for name in shown - hidden:
            with contextlib.suppress(duckdb.Error):
                duck.execute(f"DROP VIEW IF EXISTS temp.main.{quote(name)}")
        duck.execute(f"SET VARIABLE {HIDDEN} = ?::VARCHAR[]", [sorted(hidden)])
        if hidden:
            self._gone[duck] = set(hidden)

    def _columns(self, name: str) -> list[str]:
        try:
            return self._views.snapshot_of(name).schema.names
        except ElacsymError:
            return []

    def _savepoint(self, verb: str, name: str) -> str:
        if self.state == "idle" or self.engine_tx is None:
            raise NoActiveTransaction(
                f"{verb.split('_')[0].upper()} can only be used in transaction blocks"
            )
        if verb == "savepoint":
            self.check()
            marks = (self.engine_tx.mark(), len(self._on_commit), len(self._on_rollback))
            self._savepoints.append((name, *marks))
            return "SAVEPOINT"
        names = [n for n, *_ in self._savepoints]
        if name not in names:
            self.state = "failed"
            raise InvalidSavepoint(f'savepoint "{name}" does not exist')
        at = len(names) - 1 - names[::-1].index(name)  # the newest of that name, as Postgres
        if verb == "release":
            self.check()
            del self._savepoints[at:]  # it and every savepoint set after it
            return "RELEASE"
        del self._savepoints[at + 1 :]  # ROLLBACK TO keeps the savepoint itself
        _, staged, deferred, undos = self._savepoints[at]
        self.engine_tx.rollback_to(staged)
        del self._on_commit[deferred:]  # its DROPs since will not happen
        undo, self._on_rollback = self._on_rollback[undos:], self._on_rollback[:undos]
        self.state = "block"
        _run_all(reversed(undo))  # its CREATEs since are dropped
        return "ROLLBACK"

    def check(self) -> None:
        """Refuse a statement in a failed block."""
        if self.state == "failed":
            raise InFailedTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )

    def fail(self) -> None:
        if self.state == "block":
            self.state = "failed"

    def show(self, duck: duckdb.DuckDBPyConnection, names: Iterable[str]) -> None:
        """Make `duck` see the block's snapshot (own writes included) of these namespaces."""
        tx = self.active
        assert tx is not None
        gone = self.dropping
        namespaces = [name for name in names if self._views.shows(name) and name not in gone]
        tx.pin(namespaces)
        for name in namespaces:
            snap = tx.snapshot(name)
            if self._shown.get((duck, name)) != snap.token:
                self._views.show_snapshot(duck, snap)
                self._shown[(duck, name)] = snap.token

    def forget(self, names: Iterable[str]) -> None:
        """Tables dropped or created inside the block: shown again from fresh snapshots."""
        tx = self.active
        if tx is None:
            return
        for name in names:
            tx.forget(name)
            for duck, shown in [k for k in self._shown if k[1] == name]:
                self._views.hide_snapshot(duck, shown)
                del self._shown[(duck, shown)]

    def _end(self) -> None:
        for duck, name in self._shown:
            self._views.hide_snapshot(duck, name)
        self._shown.clear()
        self.state, self.engine_tx, self._savepoints = "idle", None, []
        self._on_commit, self._on_rollback = [], []


def _nothing() -> None:
    pass


def _show_gone(duck: duckdb.DuckDBPyConnection, name: str, columns: list[str]) -> None:
    """A temporary view of `name` that raises 42P01 when read (its columns bind, so that
    `SELECT col FROM name` says the relation is missing, not the column)."""
    cols = ", ".join(f"NULL AS {quote(c)}" for c in columns) or "NULL AS id"
    message = f'relation "{name}" does not exist'.replace("'", "''")
    duck.execute(
        f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS SELECT {cols} "
        f"WHERE error('{message}') IS NULL"
    )


def _run_all(actions: Iterable[Action]) -> None:
    """Run every action; the first error is raised once all have run (an undo that failed
    must not keep the others from running)."""
    first: BaseException | None = None
    for act in actions:
        try:
            act()
        except Exception as exc:
            first = first or exc
    if first is not None:
        raise first
