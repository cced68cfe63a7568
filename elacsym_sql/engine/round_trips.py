"""Sending the reads of one round trip together: ranged GETs on a pool of threads (they
wait on the network, not the CPU), and reads started in another thread handed back only
once their requests go out, so that a busy machine cannot delay them into a round trip of
their own (decision 0082)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from ..index.clustered import ReadRanges

T = TypeVar("T")


def started(task: Callable[[Callable[[], None]], T]) -> Future[T]:
    """`task(sent)` run in a thread of its own, returned once it called `sent` (as its
    requests go out) or ended: what the caller sends next then goes out in the same round
    trip, even when a busy machine would start the thread only after that was answered."""
    ready = threading.Event()
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(task(ready.set))
        except BaseException as e:  # handed to the caller by future.result()
            future.set_exception(e)
        finally:
            ready.set()

    threading.Thread(target=run, name="elacsym-read", daemon=True).start()
    ready.wait()
    return future


def sending(read: ReadRanges, sent: Callable[[], None] | None) -> ReadRanges:
    """`read`, calling `sent` first (None: `read` itself)."""
    if sent is None:
        return read

    def read_now(ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        sent()
        return read(ranges)

    return read_now


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def io_pool() -> ThreadPoolExecutor:
    """Threads for the ranged GETs of one round trip (they wait on the network, not CPU)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="elacsym-ranges")
        return _pool
