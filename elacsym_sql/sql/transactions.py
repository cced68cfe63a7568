"""Transaction blocks: BEGIN/COMMIT/ROLLBACK with the semantics elacsym_sql can honour.

Every statement's write is atomic and durable when the statement returns, inside a block
too (docs/decisions/0011-transactions.md). The block is tracked here, never passed to
DuckDB: COMMIT succeeds; ROLLBACK of a block that wrote fails loudly (0A000) and ends the
block; ROLLBACK of a block that only read succeeds. An error inside a block puts it in
the failed state, where every statement answers 25P02 until COMMIT or ROLLBACK, as in
Postgres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..errors import (
    InFailedTransaction,
    InvalidSavepoint,
    NoActiveTransaction,
    NotSupportedError,
)
from .txn_control import Control

State = Literal["idle", "block", "failed"]


@dataclass
class Transaction:
    """One session's transaction block."""

    state: State = "idle"
    writes: int = 0  # statements in this block that wrote to namespaces
    savepoints: dict[str, int] = field(default_factory=dict)  # name -> writes when set

    @property
    def status(self) -> str:
        """ReadyForQuery's transaction status: idle, in a block, or in a failed block."""
        return {"idle": "I", "block": "T", "failed": "E"}[self.state]

    def control(self, control: Control) -> str:
        """Apply BEGIN/COMMIT/ROLLBACK/savepoints; returns the command tag."""
        verb = control.verb
        if control.savepoint is not None:
            return self._savepoint(verb, control.savepoint)
        if verb == "begin":
            if self.state == "idle":
                self.state, self.writes, self.savepoints = "block", 0, {}
            return "BEGIN"
        failed, writes = self.state == "failed", self.writes
        self.state, self.writes = "idle", 0
        if writes and (verb == "rollback" or failed):
            raise NotSupportedError(
                f"cannot roll back: {writes} write{'s were' if writes != 1 else ' was'} "
                "already durable in this transaction",
                detail="Each statement's write is atomic and durable when it returns; "
                "the transaction block has ended and those writes stay.",
                hint="see docs/decisions/0011-transactions.md",
            )
        return "ROLLBACK" if verb == "rollback" or failed else "COMMIT"

    def _savepoint(self, verb: str, name: str) -> str:
        """Savepoints mark a write count; going back to one is possible only when nothing
        was written since (then it also clears a failed state, as in Postgres)."""
        if self.state == "idle":
            raise NoActiveTransaction(
                f"{verb.split('_')[0].upper()} can only be used in transaction blocks"
            )
        if verb == "savepoint":
            self.check()
            self.savepoints[name] = self.writes
            return "SAVEPOINT"
        if name not in self.savepoints:
            self.state = "failed"
            raise InvalidSavepoint(f'savepoint "{name}" does not exist')
        if verb == "release":
            self.check()
            del self.savepoints[name]
            return "RELEASE"
        since = self.writes - self.savepoints[name]
        if since:
            self.state = "failed"
            raise NotSupportedError(
                f"cannot roll back to savepoint {name}: {since} write"
                f"{'s were' if since != 1 else ' was'} already durable since it",
                hint="see docs/decisions/0011-transactions.md",
            )
        self.state = "block"
        return "ROLLBACK"

    def check(self) -> None:
        """Refuse a statement in a failed block."""
        if self.state == "failed":
            raise InFailedTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )

    def wrote(self) -> None:
        if self.state == "block":
            self.writes += 1

    def fail(self) -> None:
        if self.state == "block":
            self.state = "failed"
