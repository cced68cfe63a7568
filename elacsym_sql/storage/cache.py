"""A size-bounded local disk cache of immutable objects.

Objects never change once written (DESIGN §3), so an entry is valid forever and needs no
revalidation: the only policy is which entries to drop when the cache is full (LRU).

Layout: `<directory>/v1/objects/<h[:2]>/<h><ext>` where `h` hashes the store's identity
and the key, and `<directory>/v1/tmp/` for downloads in flight. A download lands in a
temporary file and is renamed into place, so readers (threads or other processes sharing
the directory) see either nothing or a complete file.

Every store goes through the same path, LocalStore included: one code path to test, and
the local backend is for development, where the extra copy does not matter.

The bound is exact within one process. Processes sharing a directory learn about each
other's files when they rescan it, which they do whenever they evict, so the directory may
briefly overshoot by what others added since.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import time
from collections import OrderedDict

from ..metrics import CACHE
from .base import ObjectStore

_LOW_WATER = 0.9  # evict down to this fraction of max_bytes, so rescans stay rare
_STALE_TMP_SECONDS = 3600.0  # temp files older than this were left by a crashed process


class DiskCache:
    def __init__(self, directory: str, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.directory = os.path.abspath(directory)
        self.max_bytes = max_bytes
        self._objects = os.path.join(self.directory, "v1", "objects")
        self._tmp = os.path.join(self.directory, "v1", "tmp")
        os.makedirs(self._objects, exist_ok=True)
        os.makedirs(self._tmp, exist_ok=True)
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, int] = OrderedDict()  # path -> size, LRU first
        self._total = 0
        self._inflight: dict[str, threading.Lock] = {}  # one download per path at a time
        self._clean_tmp()
        with self._lock:
            self._rescan()

    # -- public ---------------------------------------------------------------------------

    def path(self, store: ObjectStore, key: str) -> str:
        """A local file holding the object `key` of `store`, downloading it on a miss.

        Open it promptly: a later call may evict it (an open file stays readable).
        """
        path = self._entry_path(store, key)
        if self._touch(path):
            return path
        with self._lock:
            flight = self._inflight.setdefault(path, threading.Lock())
        try:
            with flight:
                # Another thread may have fetched it while we waited.
                if not self._touch(path):
                    self._download(store, key, path)
        finally:
            with self._lock:
                self._inflight.pop(path, None)
        return path

    def cached(self, store: ObjectStore, key: str) -> str | None:
        """The local file holding `key` when the cache has it (a hit), else None: nothing
        is downloaded (ranged reads go to the store instead)."""
        path = self._entry_path(store, key)
        return path if self._touch(path) else None

    def adopt(self, store: ObjectStore, key: str, local: str) -> str:
        """Make the local file `local` (on this cache's filesystem, holding exactly what was
        just uploaded as `key`) the cached copy of `key`, without a download; it is moved
        into place. Returns the cached path."""
        path = self._entry_path(store, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        size = os.path.getsize(local)
        os.replace(local, path)
        with self._lock:
            self._add(path, size)
            if self._total > self.max_bytes:
                self._evict(keep=path)
        return path

    def get_bytes(self, store: ObjectStore, key: str) -> bytes:
        """The whole object, through the cache (for small immutable objects)."""
        for _ in range(3):
            try:
                with open(self.path(store, key), "rb") as f:
                    return f.read()
            except FileNotFoundError:  # evicted between path() and open(): fetch again
                continue
        return store.get(key)  # a cache too small to hold it for a moment

    def stats(self) -> dict[str, int | str]:
        with self._lock:
            return {
                "directory": self.directory,
                "hits": self.hits,
                "misses": self.misses,
                "evictions": self.evictions,
                "entries": len(self._entries),
                "bytes": self._total,
                "max_bytes": self.max_bytes,
            }

    # -- internals ------------------------------------------------------------------------

    def _entry_path(self, store: ObjectStore, key: str) -> str:
        # The endpoint is part of the identity: the same bucket name on two S3 services
        # holds different data.
        identity = f"{type(store).__name__}\0{getattr(store, 'endpoint', None) or ''}"
        digest = hashlib.sha256(f"{identity}\0{store.uri}\0{key}".encode()).hexdigest()
        ext = os.path.splitext(key)[1]
        ext = ext if ext[1:].isalnum() and len(ext) <= 16 else ""
        return os.path.join(self._objects, digest[:2], digest + ext)

    def _touch(self, path: str) -> bool:
        """Record a hit if `path` is cached. Its mtime is set to now: other processes
        (and our next rescan) order eviction by it."""
        try:
            os.utime(path)
        except FileNotFoundError:
            return False
        with self._lock:
            if path in self._entries:
                self.hits += 1
                CACHE.labels("hit").inc()
                self._entries.move_to_end(path)
                return True
        try:  # fetched by another process: learn its size
            size = os.stat(path).st_size
        except FileNotFoundError:
            return False
        with self._lock:
            self.hits += 1
            self._add(path, size)
        CACHE.labels("hit").inc()
        return True

    def _download(self, store: ObjectStore, key: str, path: str) -> None:
        with self._lock:
            self.misses += 1
        CACHE.labels("miss").inc()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._tmp, prefix="dl-")
        os.close(fd)
        try:
            store.download(key, tmp)
            size = os.path.getsize(tmp)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        with self._lock:
            self._add(path, size)
            if self._total > self.max_bytes:
                self._evict(keep=path)

    def _add(self, path: str, size: int) -> None:
        self._total += size - self._entries.get(path, 0)
        self._entries[path] = size
        self._entries.move_to_end(path)

    def _evict(self, keep: str) -> None:
        """Drop least recently used entries until under the low-water mark (lock held)."""
        self._rescan()  # pick up other processes' files and accesses
        if keep in self._entries:
            self._entries.move_to_end(keep)
        target = int(self.max_bytes * _LOW_WATER)
        for path in list(self._entries):
            if self._total <= target or path == keep:
                break
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            self._total -= self._entries.pop(path)
            self.evictions += 1

    def _rescan(self) -> None:
        """Rebuild the index from the directory, least recently used first (lock held)."""
        found: list[tuple[float, str, int]] = []
        for sub in os.scandir(self._objects):
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub.path):
                with contextlib.suppress(FileNotFoundError):
                    st = entry.stat()
                    found.append((st.st_mtime, entry.path, st.st_size))
        # Keep our own recency order for entries we know; others sort in by mtime.
        known = {p: i for i, p in enumerate(self._entries)}
        found.sort(key=lambda t: (t[0], known.get(t[1], -1)))
        self._entries = OrderedDict((p, size) for _, p, size in found)
        self._total = sum(self._entries.values())

    def _clean_tmp(self) -> None:
        cutoff = time.time() - _STALE_TMP_SECONDS
        for entry in os.scandir(self._tmp):
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
