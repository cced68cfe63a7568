"""Scratch directories that a killed process leaves behind are removed by the next one.

A scratch directory (a live full-text index's `fts-live-*`, a fold's `fts-fold-*`) holds
a lock file that its process keeps locked with `fcntl.flock` while it uses the directory.
The kernel drops the lock when the process ends however it ends, SIGKILL included, so a
lock that can be taken means nobody uses the directory any more: `sweep` removes those,
once per process for each place and prefix, before the first directory there is made.
A directory is made under a hidden name and renamed into view only once locked, so a
sweep never takes one from the process creating it. Directories without a lock file
(made before this module) are left alone: nothing says whether their process lives.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import threading
import time

LOCK_FILE = ".owner"
_HIDDEN_GRACE_SECONDS = 60.0  # a hidden one younger than this may be mid-creation
_swept: set[tuple[str, str]] = set()
_swept_lock = threading.Lock()


class ScratchDir:
    """A new directory `<parent>/<prefix>XXXXXXXX`, this process's until `remove()`."""

    def __init__(self, prefix: str, parent: str | None = None) -> None:
        parent = parent or tempfile.gettempdir()
        sweep_once(parent, prefix)
        hidden = tempfile.mkdtemp(prefix="." + prefix, dir=parent)
        try:
            self._fd: int | None = os.open(
                os.path.join(hidden, LOCK_FILE), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600
            )
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            self.path = os.path.join(parent, os.path.basename(hidden)[1:])
            os.rename(hidden, self.path)
        except BaseException:
            shutil.rmtree(hidden, ignore_errors=True)
            raise

    def remove(self) -> None:
        """Delete the directory, then let go of it (idempotent)."""
        if self._fd is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._fd)
        self._fd = None


def sweep_once(parent: str, prefix: str) -> None:
    """`sweep(parent, prefix)` the first time this process asks for it."""
    key = (os.path.abspath(parent), prefix)
    with _swept_lock:
        if key in _swept:
            return
        _swept.add(key)
    sweep(parent, prefix)


def sweep(parent: str, prefix: str) -> int:
    """Remove the `prefix*` scratch directories in `parent` that no process holds (and
    hidden half-made ones older than a minute); how many were removed."""
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(parent):
            hidden = entry.name.startswith("." + prefix)
            if not (hidden or entry.name.startswith(prefix)):
                continue
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                if hidden and time.time() - entry.stat().st_mtime < _HIDDEN_GRACE_SECONDS:
                    continue
                removed += _remove_if_unheld(entry.path)
    return removed


def _remove_if_unheld(directory: str) -> int:
    try:
        fd = os.open(os.path.join(directory, LOCK_FILE), os.O_RDWR | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return 0  # no lock file: not ours to judge; or someone else's
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # its process is alive and holds it
        shutil.rmtree(directory, ignore_errors=True)
        return 1
    finally:
        os.close(fd)
