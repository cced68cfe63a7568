"""Failed logins counted per client address: past the limit within the window, that
address is refused before it may try a password again (decision 0024)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

MAX_ADDRESSES = 65_536  # addresses remembered at most; the least recently failed go first


class LoginGuard:
    def __init__(
        self, limit: int, window_seconds: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit  # 0: no limit
        self.window = window_seconds
        self._now = now
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        oldest = self._now() - self.window
        while failures and failures[0] <= oldest:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures

    def refused(self, address: str) -> bool:
        """Whether `address` has failed `limit` times within the window."""
        failures = self._recent(address)
        return bool(self.limit) and failures is not None and len(failures) >= self.limit

    def failed(self, address: str) -> int:
        """Count a failed login; returns the failures within the window."""
        failures = self._recent(address) or deque()
        self._failures.pop(address, None)
        self._failures[address] = failures  # most recently failed last
        failures.append(self._now())
        if len(failures) > max(self.limit, 1):
            failures.popleft()  # only the last `limit` matter
        while len(self._failures) > MAX_ADDRESSES:
            del self._failures[next(iter(self._failures))]
        return len(failures)
