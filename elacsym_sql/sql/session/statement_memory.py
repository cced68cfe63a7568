"""statement_memory_limit: what one statement may make the SQL layer hold in memory.

What is counted is what this layer itself materializes for a statement, as Arrow bytes:
the rows a write evaluates before its WAL append (INSERT ... SELECT, UPDATE, DELETE, the
rows an upsert reads), the rows a WITH HOLD cursor keeps past its block's COMMIT, and the
data of a COPY FROM STDIN. Past the limit the statement fails with 53200 before it took
effect: nothing is written, the rows read so far are dropped. Not counted (decision
0038): DuckDB's own memory for the query (it has no per-statement budget that a locked
configuration lets us set), results streamed to a client, and the engine's shared caches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ...errors import OutOfMemory

_local = threading.local()


@dataclass
class _Budget:
    limit: int  # bytes; 0: none
    shown: str  # the setting as SHOW gives it
    used: int = 0


def charge(nbytes: int, what: str) -> None:
    """Count `nbytes` more held for the running statement; 53200 past its limit."""
    budget: _Budget | None = getattr(_local, "budget", None)
    if budget is None or not budget.limit:
        return
    budget.used += nbytes
    if budget.used > budget.limit:
        raise OutOfMemory(
            "out of memory",
            detail=f"statement_memory_limit ({budget.shown}) reached while holding {what}",
            hint="SET statement_memory_limit to more (0: no limit)",
        )


@contextmanager
def limited(limit: int, shown: str) -> Iterator[None]:
    """Count what the statement run meanwhile on this thread holds against `limit` bytes."""
    previous = getattr(_local, "budget", None)
    _local.budget = _Budget(limit, shown)
    try:
        yield
    finally:
        _local.budget = previous
