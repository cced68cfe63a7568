"""Retrying transient object-store failures within a deadline.

Each operation gets its own deadline and retries with exponential backoff and full
jitter (sleep uniformly in [0, min(cap, base * 2**n)]) until it passes. Nothing is
shared between operations, so a burst of faults elsewhere in the process never makes
this one fail early (botocore's retry quota does exactly that).

The statement running on this thread bounds the retries as well (interrupts.py, decision
0044): a wait or a new attempt past its statement_timeout, or after a cancel, stops with
its error (57014) instead, until the statement may have written something.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import StorageUnavailable
from ..interrupts import check_retry, note_write

T = TypeVar("T")

_BASE_SECONDS = 0.05  # first backoff bound: a lost packet is usually gone by then
_CAP_SECONDS = 2.0  # longest single wait: keeps probing a store that comes back
_SLICE_SECONDS = 0.05  # a wait looks at the statement's deadline and cancel this often


class Transient(Exception):
    """One attempt failed in a way the next may not: reset, timeout, 5xx, short body.

    `maybe_applied` is False only when the request surely never reached the store (no
    connection): a write that failed otherwise may have taken effect.
    """

    def __init__(self, message: str, *, maybe_applied: bool = True) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied


def call_with_retries(
    attempt: Callable[[], T], deadline_seconds: float, what: str, *, write: bool = False
) -> T:
    """`attempt()` until it returns or raises something other than Transient.

    Raises StorageUnavailable (from the last Transient) once `deadline_seconds` have
    passed; `what` names the operation in that message. `write`: each attempt may change
    the store, so one that may have landed makes the statement's retries uninterruptible.
    """
    deadline = time.monotonic() + deadline_seconds
    attempts = 0
    while True:
        try:
            result = attempt()
        except Transient as exc:
            attempts += 1
            if write and exc.maybe_applied:
                note_write()
            check_retry()  # the statement's own error first: it is why we stop
            left = deadline - time.monotonic()
            if left <= 0:
                raise StorageUnavailable(
                    f"{what} failed after {attempts} attempt(s) in {deadline_seconds:g} s: {exc}"
                ) from exc
            bound = min(_CAP_SECONDS, _BASE_SECONDS * 2 ** min(attempts - 1, 16))
            _pause(min(left, random.uniform(0, bound)))
            continue
        if write:
            note_write()
        return result


def _pause(seconds: float) -> None:
    """Sleep `seconds`, stopping (57014) as soon as the running statement must, and before
    a new attempt once it must."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, _SLICE_SECONDS))
        check_retry()
