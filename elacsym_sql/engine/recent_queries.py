"""A small ring of the latest query vectors of each namespace's vector column.

Real queries are what recall should be measured on (stored vectors as queries overstate it,
decision 0063): `elacsym_recall` reports recall on them, and a fold calibrates a new
segment's ef on them once enough were seen. Kept in this process's memory only, bounded
(RECENT_QUERIES vectors per column), dropped with the namespace's incarnation.
"""

from __future__ import annotations

import threading

import numpy as np

RECENT_QUERIES = 256


class RecentQueries:
    def __init__(self, size: int = RECENT_QUERIES) -> None:
        self._size = size
        self._lock = threading.Lock()
        # (namespace, incarnation, column) -> (ring (size, dim) float32, vectors written)
        self._rings: dict[tuple[str, str, str], tuple[np.ndarray, int]] = {}

    def add(self, namespace: str, incarnation: str, column: str, queries: np.ndarray) -> None:
        """Remember the last rows of `queries` (m, dim)."""
        latest = queries[-self._size :]
        key = (namespace, incarnation, column)
        with self._lock:
            ring, seen = self._rings.get(key, (None, 0))
            if ring is None or ring.shape[1] != latest.shape[1]:
                self._drop_others(namespace, incarnation)
                ring, seen = np.zeros((self._size, latest.shape[1]), np.float32), 0
            at = (seen + np.arange(len(latest))) % self._size
            ring[at] = latest
            self._rings[key] = (ring, seen + len(latest))

    def get(self, namespace: str, incarnation: str, column: str) -> np.ndarray:
        """A copy of the remembered queries, (at most size, dim), oldest first."""
        with self._lock:
            ring, seen = self._rings.get((namespace, incarnation, column), (None, 0))
            if ring is None:
                return np.empty((0, 0), np.float32)
            if seen <= self._size:
                return ring[:seen].copy()
            return np.roll(ring, -(seen % self._size), axis=0)

    def latest(self, namespace: str, column: str) -> np.ndarray:
        """The remembered queries of the namespace's latest incarnation seen (no need to
        know it: `add` keeps one)."""
        with self._lock:
            found = [k for k in self._rings if k[0] == namespace and k[2] == column]
        return self.get(*found[-1]) if found else np.empty((0, 0), np.float32)

    def seen(self, namespace: str) -> int:
        """Query vectors remembered for the namespace so far, every column and incarnation
        this process still has (only grows until the namespace is dropped)."""
        with self._lock:
            return sum(seen for k, (_, seen) in self._rings.items() if k[0] == namespace)

    def _drop_others(self, namespace: str, incarnation: str) -> None:
        """Forget the queries of the namespace's earlier incarnations (dropped since)."""
        for key in [k for k in self._rings if k[0] == namespace and k[1] != incarnation]:
            del self._rings[key]
