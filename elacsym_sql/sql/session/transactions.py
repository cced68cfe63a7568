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

from collections.abc import Callable, Iterable
from typing import Literal

import duckdb

from ...engine import Transaction as EngineTransaction
from ...errors import InFailedTransaction, InvalidSavepoint, NoActiveTransaction
from ..views import ViewCatalog
from .commit_point import CommitPoint
from .txn_control import Control

State = Literal["idle", "block", "failed"]


class TransactionBlock:
    """One session's block: BEGIN ... COMMIT / ROLLBACK with savepoints."""

    def __init__(self, begin: Callable[[], EngineTransaction], views: ViewCatalog) -> None:
        self._begin = begin
        self._views = views
        self.state: State = "idle"
        self.engine_tx: EngineTransaction | None = None
        self._savepoints: list[tuple[str, int]] = []  # (name, staged writes when set)
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
        try:
            if committing and tx is not None:
                tx.commit()  # 40001 here ends the block too, as a failed COMMIT does
            self.commit_point.reach()  # committed or rolled back: the block's end must finish
        finally:
            self._end()
        return "COMMIT" if committing else "ROLLBACK"

    def _savepoint(self, verb: str, name: str) -> str:
        if self.state == "idle" or self.engine_tx is None:
            raise NoActiveTransaction(
                f"{verb.split('_')[0].upper()} can only be used in transaction blocks"
            )
        if verb == "savepoint":
            self.check()
            self._savepoints.append((name, self.engine_tx.mark()))
            return "SAVEPOINT"
        names = [n for n, _ in self._savepoints]
        if name not in names:
            self.state = "failed"
            raise InvalidSavepoint(f'savepoint "{name}" does not exist')
        at = len(names) - 1 - names[::-1].index(name)  # the newest of that name, as Postgres
        if verb == "release":
            self.check()
            del self._savepoints[at:]  # it and every savepoint set after it
            return "RELEASE"
        del self._savepoints[at + 1 :]  # ROLLBACK TO keeps the savepoint itself
        self.engine_tx.rollback_to(self._savepoints[at][1])
        self.state = "block"
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
        namespaces = [name for name in names if self._views.shows(name)]
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
