"""The failed-login limit across the workers of one host (`elacsym serve --workers N`).

Each worker's own LoginGuard would give an address N x the limit. Here the failures of an
address are times in one small file (named by a hash of the address) in a directory the
workers share, read and rewritten under `fcntl.flock`. Files whose failures all left the
window are removed by a sweep every SWEEP_EVERY failures, so an attacker with many
addresses leaves about a window's worth of them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import struct
import time
from collections.abc import Callable

SWEEP_EVERY = 1024  # failures between two sweeps of expired files


class SharedLoginGuard:
    def __init__(
        self, directory: str, limit: int, window_seconds: float,
        now: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self.limit = limit  # 0: no limit
        self.window = window_seconds
        self._now = now
        self._until_sweep = SWEEP_EVERY

    def _path(self, address: str) -> str:
        return os.path.join(self.directory, hashlib.sha256(address.encode()).hexdigest()[:32])

    def _recent(self, fd: int) -> list[float]:
        data = os.pread(fd, 8 * max(self.limit, 1), 0)
        times = [t for (t,) in struct.iter_unpack("<d", data[: len(data) // 8 * 8])]
        oldest = self._now() - self.window
        return [t for t in times if t > oldest]

    def refused(self, address: str) -> bool:
        """Whether `address` has failed `limit` times within the window."""
        if not self.limit:
            return False
        try:
            fd = os.open(self._path(address), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            return len(self._recent(fd)) >= self.limit
        finally:
            os.close(fd)

    def failed(self, address: str) -> int:
        """Count a failed login; returns the failures within the window."""
        fd = os.open(self._path(address), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            times = [*self._recent(fd), self._now()][-max(self.limit, 1) :]
            os.ftruncate(fd, 0)
            os.pwrite(fd, b"".join(struct.pack("<d", t) for t in times), 0)
        finally:
            os.close(fd)
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self._until_sweep = SWEEP_EVERY
            self.sweep()
        return len(times)

    def sweep(self) -> None:
        """Remove the files of addresses with no failure left in the window."""
        oldest = self._now() - self.window
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.directory):
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat().st_mtime < oldest:
                        os.unlink(entry.path)
