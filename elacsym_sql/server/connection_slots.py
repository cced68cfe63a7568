"""max_connections across the workers of one host (`elacsym serve --workers N`).

Each worker counts only its own sessions, so N workers would admit N x max_connections.
Here a session holds one of `max_connections` slots: slot i is taken by an `fcntl.flock`
on file i of a directory the workers share (beside their shared disk cache, named after
the shared port). A lock on another open file of the same file fails while someone holds
it, in this process or another, and the kernel drops it when its holder's process ends,
however it ends: a killed worker's slots are free again at once.
"""

from __future__ import annotations

import fcntl
import os
import random


class SharedSlots:
    def __init__(self, directory: str, count: int) -> None:
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self.count = count
        self._held: dict[int, int] = {}  # slot -> the open file holding its lock

    def take(self) -> int | None:
        """A free slot, now held by this process; None when all are taken."""
        start = random.randrange(self.count)  # workers seldom race for the same file
        for step in range(self.count):
            slot = (start + step) % self.count
            if slot in self._held:
                continue
            path = os.path.join(self.directory, str(slot))
            fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # another worker's session holds it
                continue
            self._held[slot] = fd
            return slot
        return None

    def give_back(self, slot: int) -> None:
        os.close(self._held.pop(slot))  # closing drops the lock
