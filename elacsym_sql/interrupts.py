"""Cooperative interruption of a statement's own Python work.

statement_timeout and cancel interrupt DuckDB, but much of a statement's time can be spent
in the engine's Python loops, outside DuckDB: vector and text search over many segments,
loading segments, folding, preparing a big write. Those loops call `check_interrupt()` at
safe points, places where stopping leaves nothing behind that counts (never once the
statement has taken effect: the installed check knows the statement's commit point).

The server installs its session's check on the worker thread running a statement, an
embedded cursor on the thread calling `execute` (`checking`); threads without one (the
indexer, DuckDB's own threads running a UDF) are never interrupted here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_local = threading.local()


def check_interrupt() -> None:
    """Raise (57014) if the statement this thread runs must stop now."""
    check: Callable[[], None] | None = getattr(_local, "check", None)
    if check is not None:
        check()


@contextmanager
def checking(check: Callable[[], None]) -> Iterator[None]:
    """Make `check` what `check_interrupt` calls on this thread meanwhile."""
    previous = getattr(_local, "check", None)
    _local.check = check
    try:
        yield
    finally:
        _local.check = previous
