"""Whether a session's statement has passed its commit point, as its interrupts see it.

A cancel or statement_timeout interrupts the session's DuckDB cursor. Once a statement's
write is durable (its WAL object or its transaction's decision has landed) or its block
has ended, it has taken effect: as Postgres holds interrupts off while it commits, it is
not interrupted any more (what it still runs in DuckDB, hiding the block's views say,
must finish) and it reports what it did, not the cancel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class CommitPoint:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._passed = False

    @property
    def passed(self) -> bool:
        return self._passed

    def start(self) -> None:
        """A statement starts: it has taken no effect yet."""
        with self._lock:
            self._passed = False

    def reach(self) -> None:
        """The statement took effect; from now on `interrupt` does nothing."""
        with self._lock:
            self._passed = True

    def interrupt(self, interrupt: Callable[[], None]) -> None:
        """Call `interrupt` unless the statement took effect. The lock makes the check and
        the call one step, so no interrupt reaches DuckDB once `reach` has returned."""
        with self._lock:
            if not self._passed:
                interrupt()
