"""Group commit: statements that threads of this process write to one namespace at the same
time share one WAL object (docs/decisions/0076-group-commit.md).

A writer queues its statement and waits. A waiter that finds no leader becomes the leader:
it takes the namespace's write lock, takes the queued statements (oldest first, up to a
size bound), commits them with one append and hands each waiter its outcome; statements
queued meanwhile form the next batch. A lone writer goes straight through; N writers at
once cost about one PUT per PUT's latency instead of N PUTs one after another.

Cancels and timeouts (decision 0037): a statement still in the queue may stop (it leaves
the queue: nothing of it is written); once a leader has taken it, its write may land, so
it waits for the outcome whatever happens, and the leader commits with its own statement's
interrupts held off (stopping would fail its batch-mates).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..interrupts import check_interrupt, checking

T = TypeVar("T")
#: What committing a batch gives each of its statements: a sequence number or an error.
Outcome = int | BaseException
#: How often a queued statement looks at its own cancel and timeout.
POLL_SECONDS = 0.05
#: A batch takes statements until their rows pass this size (a bigger statement goes alone).
MAX_BATCH_BYTES = 32 << 20


@dataclass(eq=False)
class _Waiter(Generic[T]):
    item: T
    size: int
    taken: bool = False  # a leader is committing it: it can no longer be withdrawn
    outcome: Outcome | None = None


class GroupCommit(Generic[T]):
    def __init__(
        self,
        lock: AbstractContextManager[Any],
        commit: Callable[[list[T]], list[Outcome]],
        max_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self._lock = lock  # held while a batch is committed (the namespace's write lock)
        self._commit = commit  # one outcome per item, in order
        self._max_bytes = max_bytes
        self._cond = threading.Condition()
        self._queue: list[_Waiter[T]] = []
        self._leading = False
        self.batches = 0  # batches committed (or failed) so far
        self.statements = 0  # statements in them

    @property
    def waiting(self) -> int:
        """Statements queued and not taken by a leader yet."""
        with self._cond:
            return len(self._queue)

    def submit(self, item: T, size: int) -> int:
        """Commit `item` (`size` bytes) in the next batch; its sequence number once durable,
        or its error. Must not be called holding the lock (the leader needs it)."""
        me = _Waiter(item, size)
        with self._cond:
            self._queue.append(me)
            while me.outcome is None:
                if not me.taken:
                    if not self._leading:
                        self._leading = True
                        break
                    self._withdraw_if_canceled(me)
                self._cond.wait(None if me.taken else POLL_SECONDS)
        if me.outcome is None:
            self._lead(me)
        assert me.outcome is not None
        if isinstance(me.outcome, BaseException):
            raise _own_copy(me.outcome)
        return me.outcome

    def _withdraw_if_canceled(self, me: _Waiter[T]) -> None:
        """Leave the queue when this thread's statement must stop (holding `_cond`)."""
        try:
            check_interrupt()
        except BaseException:
            self._queue.remove(me)
            raise

    def _lead(self, me: _Waiter[T]) -> None:
        try:
            while me.outcome is None:
                with self._lock:
                    with self._cond:
                        self._withdraw_if_canceled(me)  # its own cancel: before taking others
                        batch = self._take()
                    outcomes = self._run([w.item for w in batch])
                    with self._cond:
                        for waiter, outcome in zip(batch, outcomes, strict=True):
                            waiter.outcome = outcome
                        self._cond.notify_all()
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()  # the next queued statement leads

    def _take(self) -> list[_Waiter[T]]:
        """The oldest queued statements up to the size bound (at least one)."""
        size, count = 0, 0
        for waiter in self._queue:
            if count and size + waiter.size > self._max_bytes:
                break
            size += waiter.size
            count += 1
        batch, self._queue = self._queue[:count], self._queue[count:]
        for waiter in batch:
            waiter.taken = True
        self.batches += 1
        self.statements += count
        return batch

    def _run(self, items: list[T]) -> list[Outcome]:
        with checking(lambda: None):  # others' statements ride on it: not interruptible
            try:
                outcomes = self._commit(items)
                assert len(outcomes) == len(items), "one outcome per statement"
            except BaseException as exc:  # every statement of it failed so
                return [exc] * len(items)
        return outcomes


def _own_copy(error: BaseException) -> BaseException:
    """The error for one statement of a batch: callers annotate the errors they raise, so
    batch-mates do not share one object."""
    try:
        return copy.copy(error)
    except Exception:  # a type that cannot be copied: share the object
        return error
