"""Local-directory backend: the S3 layout on a filesystem.

Conditional creates use `os.link` of a fully written temporary file (atomic, fails if the
name exists); compare-and-swap takes an `flock` on a sidecar lock file, so it holds across
processes. Every write is fsynced before it is acknowledged.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator

from ..errors import ObjectNotFound, PreconditionFailed
from .base import Blob, ObjectInfo, ObjectStore

_TMP_DIR = ".tmp"
_STALE_TEMP_SECONDS = 3600.0


def _etag(data: Blob) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class LocalStore(ObjectStore):
    def __init__(self, root: str) -> None:
        super().__init__()
        self.root = os.path.abspath(root)
        self.uri = self.root
        os.makedirs(os.path.join(self.root, _TMP_DIR), exist_ok=True)
        self._remove_stale_temps()

    def _remove_stale_temps(self) -> None:
        """Temp files of writers killed mid-write; old enough that no live writer owns them."""
        tmp_dir = os.path.join(self.root, _TMP_DIR)
        cutoff = time.time() - _STALE_TEMP_SECONDS
        for entry in os.scandir(tmp_dir):
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)

    def _path(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"bad object key {key!r}")
        return os.path.join(self.root, key)

    def _write_temp(self, data: Blob) -> str:
        fd, tmp = tempfile.mkstemp(dir=os.path.join(self.root, _TMP_DIR))
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            os.unlink(tmp)
            raise
        return tmp

    @staticmethod
    def _fsync_dir(path: str) -> None:
        fd = os.open(os.path.dirname(path), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def get(self, key: str) -> bytes:
        self.request_counts["get"] += 1
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise ObjectNotFound(f"object {key!r} not found in {self.uri}") from None

    def get_with_etag(self, key: str) -> tuple[bytes, str]:
        data = self.get(key)
        return data, _etag(data)

    def get_range(self, key: str, start: int, length: int) -> bytes:
        self.request_counts["get"] += 1
        try:
            with open(self._path(key), "rb") as f:
                f.seek(start)
                return f.read(length)
        except FileNotFoundError:
            raise ObjectNotFound(f"object {key!r} not found in {self.uri}") from None

    def put(self, key: str, data: Blob) -> None:
        self.request_counts["put"] += 1
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.replace(self._write_temp(data), path)
        self._fsync_dir(path)

    def put_if_absent(self, key: str, data: Blob) -> None:
        self.request_counts["put"] += 1
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = self._write_temp(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise PreconditionFailed(f"object {key!r} exists already") from None
        finally:
            os.unlink(tmp)
        self._fsync_dir(path)

    def put_if_match(self, key: str, data: Blob, etag: str | None) -> str:
        self.request_counts["put"] += 1
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                with open(path, "rb") as f:
                    current: str | None = _etag(f.read())
            except FileNotFoundError:
                current = None
            if current != etag:
                raise PreconditionFailed(f"object {key!r} changed (CAS lost)")
            os.replace(self._write_temp(data), path)
            self._fsync_dir(path)
        return _etag(data)

    def exists(self, key: str) -> bool:
        self.request_counts["head"] += 1
        return os.path.isfile(self._path(key))

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ObjectInfo]:
        self.request_counts["list"] += 1
        found: list[ObjectInfo] = []
        # Walk only below the prefix's directory part: keys are paths.
        start_dir = self._path(prefix.rsplit("/", 1)[0]) if "/" in prefix else self.root
        for dirpath, dirnames, filenames in os.walk(start_dir):
            rel_dir = os.path.relpath(dirpath, self.root)
            if rel_dir == _TMP_DIR:
                dirnames[:] = []
                continue
            for name in filenames:
                if name.endswith(".lock"):
                    continue
                key = name if rel_dir == "." else f"{rel_dir}/{name}"
                if key.startswith(prefix) and (start_after is None or key > start_after):
                    st = os.stat(os.path.join(dirpath, name))
                    found.append(ObjectInfo(key, st.st_size, st.st_mtime))
        found.sort(key=lambda o: o.key)
        return iter(found)

    def delete(self, key: str) -> None:
        self.request_counts["delete"] += 1
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def delete_if_unchanged(self, listed: ObjectInfo) -> bool:
        """Move the object aside (atomic), delete it if it is the one listed (same mtime and
        size), else put it back unless it was written again meanwhile."""
        self.request_counts["delete"] += 1
        path = self._path(listed.key)
        aside = os.path.join(self.root, _TMP_DIR, f"delete-{os.getpid()}-{uuid.uuid4().hex}")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return False
        st = os.stat(aside)
        same = st.st_mtime == listed.mtime and st.st_size == listed.size
        if not same:
            with contextlib.suppress(FileExistsError):  # a newer write is there: it stays
                os.link(aside, path)
        os.unlink(aside)
        return same

    def download(self, key: str, path: str) -> None:
        self.request_counts["get"] += 1
        try:
            shutil.copyfile(self._path(key), path)
        except FileNotFoundError:
            raise ObjectNotFound(f"object {key!r} not found in {self.uri}") from None
