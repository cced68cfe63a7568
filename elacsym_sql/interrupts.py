"""Cooperative interruption of a statement's own Python work.

statement_timeout and cancel interrupt DuckDB, but much of a statement's time can be spent
in the engine's Python loops, outside DuckDB: vector and text search over many segments,
loading segments, folding, preparing a big write. Those loops call `check_interrupt()` at
safe points, places where stopping leaves nothing behind that counts (never once the
statement has taken effect: the installed check knows the statement's commit point).

The object store's retries (storage/retry.py) stop for the statement too, between
attempts, but only until the statement may have written something: a write attempt that
may have reached the store (`note_write`) makes every later retry of the statement run to
its own per-request deadline (decision 0044). So a read, or a write refused before it was
sent, ends with 57014 when the statement's time is up; a conditional write whose answer
was lost is still resolved, and a transaction's decision and abort, which follow its WAL
writes, still run.

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


def note_write() -> None:
    """A write of the statement this thread runs may have reached the object store."""
    if getattr(_local, "check", None) is not None:
        _local.wrote = True


def check_retry() -> None:
    """`check_interrupt` for the object store's retries: nothing once the statement may have
    written (stopping then could report as failed a write that took effect)."""
    if not getattr(_local, "wrote", False):
        check_interrupt()


@contextmanager
def checking(check: Callable[[], None]) -> Iterator[None]:
    """Make `check` what `check_interrupt` calls on this thread meanwhile. A statement
    starts with nothing written; work nested in one keeps what it wrote."""
    outer = getattr(_local, "check", None)
    _local.check = check
    if outer is None:
        _local.wrote = False
    try:
        yield
    finally:
        _local.check = outer
        if outer is None:
            _local.wrote = False
