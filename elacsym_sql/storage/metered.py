"""An ObjectStore that counts every call of the store it wraps into the process's metrics:
requests and bytes by operation, failures by error class, and requests by namespace (from
the key layout) for `elacsym_stats`. Backends stay free of metrics."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ..layout import namespace_of
from ..metrics import STORE_BYTES, STORE_ERRORS, STORE_REQUESTS
from .base import Blob, ObjectInfo, ObjectStore

T = TypeVar("T")


def _size(data: Blob) -> int:
    return data.nbytes if isinstance(data, memoryview) else len(data)


class MeteredStore(ObjectStore):
    def __init__(self, inner: ObjectStore) -> None:
        # No super().__init__(): the inner store's request counts are the ones to share.
        self.inner = inner
        self.uri = inner.uri
        self.request_counts = inner.request_counts
        # Calls by namespace and operation: one call is one request, but for an S3 retry or
        # a listing's further pages (request_counts has those, by operation only).
        self._by_namespace: dict[str, Counter[str]] = {}
        self._count_lock = threading.Lock()

    def requests_of(self, namespace: str) -> Counter[str]:
        """Requests this process made for `namespace`'s keys, by operation."""
        with self._count_lock:
            return Counter(self._by_namespace.get(namespace, ()))

    def __getattr__(self, name: str) -> Any:
        # Backend specifics (an S3 endpoint, a local root) read through.
        return getattr(self.inner, name)

    def _call(self, op: str, key: str, call: Callable[[], T]) -> T:
        STORE_REQUESTS.labels(op).inc()
        namespace = namespace_of(key)
        if namespace is not None:
            with self._count_lock:
                self._by_namespace.setdefault(namespace, Counter())[op] += 1
        try:
            return call()
        except Exception as exc:
            STORE_ERRORS.labels(op, type(exc).__name__).inc()
            raise

    def _read(self, data: bytes) -> bytes:
        STORE_BYTES.labels("get").inc(len(data))
        return data

    def _write(self, op: str, data: Blob) -> None:
        STORE_BYTES.labels(op).inc(_size(data))

    def get(self, key: str) -> bytes:
        return self._read(self._call("get", key, lambda: self.inner.get(key)))

    def get_with_etag(self, key: str) -> tuple[bytes, str]:
        data, etag = self._call("get", key, lambda: self.inner.get_with_etag(key))
        return self._read(data), etag

    def get_range(self, key: str, start: int, length: int) -> bytes:
        return self._read(self._call("get", key, lambda: self.inner.get_range(key, start, length)))

    def put(self, key: str, data: Blob) -> None:
        self._call("put", key, lambda: self.inner.put(key, data))
        self._write("put", data)

    def put_if_absent(self, key: str, data: Blob) -> None:
        self._call("conditional_put", key, lambda: self.inner.put_if_absent(key, data))
        self._write("conditional_put", data)

    def put_if_match(self, key: str, data: Blob, etag: str | None) -> str:
        found = self._call("conditional_put", key, lambda: self.inner.put_if_match(key, data, etag))
        self._write("conditional_put", data)
        return found

    def exists(self, key: str) -> bool:
        return self._call("head", key, lambda: self.inner.exists(key))

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ObjectInfo]:
        return self._call("list", prefix, lambda: self.inner.list(prefix, start_after))

    def delete(self, key: str) -> None:
        self._call("delete", key, lambda: self.inner.delete(key))

    def delete_if_unchanged(self, listed: ObjectInfo) -> bool:
        return self._call("delete", listed.key, lambda: self.inner.delete_if_unchanged(listed))

    def download(self, key: str, path: str) -> None:
        self._call("get", key, lambda: self.inner.download(key, path))
        STORE_BYTES.labels("get").inc(os.path.getsize(path))

    def close(self) -> None:
        self.inner.close()
