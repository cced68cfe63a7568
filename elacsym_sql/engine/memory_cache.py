"""An in-memory LRU of decoded immutable things (segment rows, keys, indexes), bounded by bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


def size_of(value: Any) -> int:
    """Bytes held by `value`, as far as Arrow, numpy or the value itself can tell."""
    for attr in ("nbytes", "memory_bytes"):
        size = getattr(value, attr, None)
        if isinstance(size, int):
            return size
    return 1024


class MemoryCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def peek(self, key: Hashable) -> Any | None:
        """The cached value of `key`, or None (no load)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: Any) -> None:
        """Cache `value` under `key` (as a load by `get` would)."""
        self.get(key, lambda: value)

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The cached value of `key`, loading it (outside the lock) on a miss."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry[0]
        value = load()
        size = size_of(value)
        with self._lock:
            if key not in self._entries:
                self._entries[key] = (value, size)
                self._bytes += size
            # Keep the newest entry even when it alone exceeds the bound.
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped
        return value
