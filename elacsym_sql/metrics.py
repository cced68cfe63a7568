"""The process's Prometheus metrics: one registry and its metric objects, at the bottom of
the layers so storage, the WAL, the engine and the front doors all count into it.

Counting is one call per request, statement, search or fold, never per row. Values that
are state (unindexed rows, open HTTP connections) are read when /metrics is scraped.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector

P = ParamSpec("P")
T = TypeVar("T")

#: Our own registry, not prometheus_client's global one: importing elacsym_sql into an
#: application leaves that application's /metrics as it was (docs/decisions/0045).
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

# Seconds: a direct search answers in ~0.2 ms, a large write or fold takes seconds.
_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

STATEMENTS = Histogram(
    "elacsym_statement_seconds",
    "SQL statements run, by front door (wire, embedded) and command (SELECT, INSERT, ...)",
    ["door", "command"],
    buckets=_LATENCY,
    registry=REGISTRY,
)
SEARCHES = Histogram(
    "elacsym_search_seconds",
    "Search calls, by front door (sql, http) and kind (vector, text, hybrid)",
    ["door", "kind"],
    buckets=_LATENCY,
    registry=REGISTRY,
)
STORE_REQUESTS = Counter(
    "elacsym_store_requests",
    "Object-store calls by operation (get, put, conditional_put, head, list, delete)",
    ["op"],
    registry=REGISTRY,
)
STORE_BYTES = Counter(
    "elacsym_store_bytes",
    "Bytes read from (get) and written to (put, conditional_put) the object store",
    ["op"],
    registry=REGISTRY,
)
STORE_ERRORS = Counter(
    "elacsym_store_errors",
    "Object-store calls that raised, by operation and error class",
    ["op", "kind"],
    registry=REGISTRY,
)
CACHE = Counter(
    "elacsym_cache_lookups",
    "Disk-cache lookups of segment objects, by result (hit, miss)",
    ["result"],
    registry=REGISTRY,
)
WAL_APPENDS = Counter(
    "elacsym_wal_appends",
    "WAL appends, by result (committed; conflict: another writer took the number;"
    " orphaned: created after a stall in a slot already folded, removed and retried)",
    ["result"],
    registry=REGISTRY,
)
FORWARDED = Counter(
    "elacsym_forwarded_writes",
    "Writes this process forwarded to their namespace's owner, by door (wire, http, embedded)",
    ["door"],
    registry=REGISTRY,
)
MAINTENANCE = Histogram(
    "elacsym_maintenance_seconds",
    "Fold (WAL tail into a segment) and compaction runs",
    ["job"],
    buckets=_LATENCY,
    registry=REGISTRY,
)
CONNECTIONS = Gauge(
    "elacsym_connections",
    "Open client connections, by front door (wire, http)",
    ["door"],
    registry=REGISTRY,
)


def exposition() -> bytes:
    """The registry in Prometheus's text format."""
    return generate_latest(REGISTRY)


def observe_statement(door: str, command: str, started: float) -> None:
    STATEMENTS.labels(door, command).observe(time.perf_counter() - started)


_searching = threading.local()


@contextmanager
def timed_search(door: str, kind: str) -> Iterator[None]:
    """Time one search call; searches it runs inside (hybrid's vector and text legs) are
    part of it, not counted again."""
    if getattr(_searching, "active", False):
        yield
        return
    _searching.active = True
    started = time.perf_counter()
    try:
        yield
    finally:
        _searching.active = False
        SEARCHES.labels(door, kind).observe(time.perf_counter() - started)


def searched(door: str, kind: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorate a search function with `timed_search`."""

    def wrap(run: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(run)
        def timed(*args: P.args, **kwargs: P.kwargs) -> T:
            with timed_search(door, kind):
                return run(*args, **kwargs)

        return timed

    return wrap


class _Unindexed:
    """elacsym_unindexed_rows{namespace}: read at scrape time from every live engine's
    in-memory view (no storage request), the largest count where engines share a name."""

    def __init__(self) -> None:
        self._sources: list[weakref.WeakMethod[Callable[[], Mapping[str, int]]]] = []
        self._lock = threading.Lock()

    def watch(self, source: Callable[[], Mapping[str, int]]) -> None:
        """Add a bound method returning {namespace: unindexed rows}; dropped with its owner."""
        with self._lock:
            self._sources = [ref for ref in self._sources if ref() is not None]
            self._sources.append(weakref.WeakMethod(source))  # type: ignore[arg-type]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "elacsym_unindexed_rows",
            "Rows written to the WAL and not yet folded into an indexed segment",
            labels=["namespace"],
        )
        found: dict[str, int] = {}
        with self._lock:
            sources = [ref() for ref in self._sources]
        for source in sources:
            if source is not None:
                for name, rows in source().items():
                    found[name] = max(rows, found.get(name, 0))
        for name, rows in sorted(found.items()):
            family.add_metric([name], rows)
        yield family


UNINDEXED = _Unindexed()
REGISTRY.register(UNINDEXED)
