"""Giving freed memory back to the system after a large message and as sessions close.

Allocators keep freed memory for reuse instead of returning it: glibc's malloc in its
arenas (one per worker thread), Arrow's mimalloc pool for encoded rows. A server that
once parsed a 20 MB statement stayed ~400 MB larger, one that 64 busy clients had used
~430 MB (measured). `malloc_trim(0)` returns glibc's free parts; elsewhere it does nothing.

Before trimming, a collection: a closed session's objects form reference cycles (a client
that hung up mid-result leaves an exception whose traceback holds the result's frames and
batches), which only the cyclic collector frees, and an idle server allocates nothing that
would start one. Without it, 64 clients left ~40 MB of Arrow batches and sessions behind.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import time
from collections.abc import Callable
from concurrent.futures import Executor

import pyarrow as pa

LARGE_MESSAGE = 1 << 20  # after a message this big, trim
TRIM_SECONDS = 5.0  # as sessions close, trim at most this often

_libc_name = ctypes.util.find_library("c")
_trim = getattr(ctypes.CDLL(_libc_name), "malloc_trim", None) if _libc_name else None


def use_system_allocator() -> None:
    """Arrow allocates from malloc, so `trim` can return it: with its mimalloc pool a server
    that 8 clients had hung up on mid-result stayed ~230 MB larger, with malloc ~35 MB
    (measured). For a server process; a library's users keep Arrow's default."""
    pa.set_memory_pool(pa.system_memory_pool())


def trim() -> None:
    """Free what only the cyclic collector can, then return free memory to the system:
    Arrow's pool (encoded rows) and glibc's heap."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    if _trim is not None:
        _trim(0)


class TrimSchedule:
    """Trims as sessions close, at most once per `every` seconds, and always once after the
    last close: a burst of closes ends in a trim, however close together they came."""

    def __init__(self, executor: Executor, every: float = TRIM_SECONDS) -> None:
        self.executor = executor
        self.every = every
        self._last = -every  # monotonic time of the last trim
        self._pending: asyncio.TimerHandle | None = None

    def request(self, loop: asyncio.AbstractEventLoop, run: Callable[[], None] = trim) -> None:
        if self._pending is not None:
            return  # the trim already scheduled comes after this close too
        delay = max(0.0, self._last + self.every - time.monotonic())
        self._pending = loop.call_later(delay, self._fire, loop, run)

    def _fire(self, loop: asyncio.AbstractEventLoop, run: Callable[[], None]) -> None:
        self._pending = None
        self._last = time.monotonic()
        loop.run_in_executor(self.executor, run)

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
