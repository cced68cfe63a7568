"""When the running statement must stop: its statement_timeout deadline, or a cancel.

Both interrupt the session's DuckDB cursor (the CancelRequest path), are checked between
chunks of a result and, through `raise_if_due`, at the safe points of the engine's own
loops (interrupts.py), so a statement stops whether it is computing in DuckDB or in Python
or waiting for its client to read. The error is Postgres's: 57014, "canceling statement due to ...".
A statement that passed its commit point (sql/session/commit_point.py) is neither interrupted nor
reported canceled: it took effect.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..errors import QueryCanceled, StatementCompletionUnknown
from ..sql.session.commit_point import CommitPoint


class StatementClock:
    def __init__(self, interrupt: Callable[[], None], commit_point: CommitPoint) -> None:
        self._interrupt = interrupt
        self._commit_point = commit_point
        self.started = time.monotonic()
        self.deadline: float | None = None  # time.monotonic() past which it is canceled
        self.reason: str | None = None  # why it was canceled: "user request", ...
        self.running = False  # between start() and stop(): what raise_if_due watches

    def start(self, timeout_ms: int) -> None:
        """A statement begins; `timeout_ms` 0 means no deadline."""
        self.started = time.monotonic()
        self.deadline = self.started + timeout_ms / 1000 if timeout_ms > 0 else None
        self.reason = None
        self.running = True
        self._commit_point.start()

    def renew(self, timeout_ms: int) -> None:
        """The next statement of the same Query: its own deadline (as Postgres 13+)."""
        self.started = time.monotonic()
        self.deadline = self.started + timeout_ms / 1000 if timeout_ms > 0 else None
        self._commit_point.start()

    def stop(self) -> None:
        self.deadline = None
        self.running = False

    def elapsed_ms(self) -> float:
        return (time.monotonic() - self.started) * 1000

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no deadline)."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def cancel(self, reason: str) -> None:
        """Stop the running statement: interrupt DuckDB now, fail at the next check."""
        if self.reason is None:
            self.reason = reason
        self._commit_point.interrupt(self._interrupt)

    def poll(self) -> None:
        """Cancel for the timeout once the deadline has passed."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.cancel("statement timeout")

    def check(self) -> None:
        """Raise 57014 when the statement was canceled or its time is up."""
        self.poll()
        if self.reason is not None and not self._commit_point.passed:
            raise QueryCanceled(f"canceling statement due to {self.reason}")

    def raise_if_due(self) -> None:
        """`check` for the worker thread running the statement (interrupts.py: the engine's
        loops call it). It only reads the clock and the commit point."""
        if not self.running or self._commit_point.passed:
            return
        reason = self.reason
        if reason is None and self.deadline is not None and time.monotonic() >= self.deadline:
            reason = "statement timeout"
        if reason is not None:
            raise QueryCanceled(f"canceling statement due to {reason}")

    def explain(self, exc: BaseException) -> BaseException:
        """A statement that failed once interrupted failed for the reason it was interrupted
        for: DuckDB says 'Interrupted!', or 'The result is closed' for a stream it ended.
        Past the commit point an error is the statement's own: the cancel came too late,
        and so is 40003 (its write may have landed: 57014 would say it did not)."""
        if isinstance(exc, StatementCompletionUnknown) or self._commit_point.passed:
            return exc
        if self.reason is not None and isinstance(exc, Exception):
            return QueryCanceled(f"canceling statement due to {self.reason}")
        return exc
