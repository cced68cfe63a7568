"""What the background thread does for each namespace this process has open, and when: idle
namespaces cost no object-store requests (decision 0060).

- Looks: while a namespace has traffic here (reads and writes through its handle), and for
  `idle_watch_seconds` after the last of it, a strong refresh whenever the state is older
  than an interval that starts at one second after traffic and doubles after each look,
  and a last look `idle_watch_seconds` after the traffic. So writes of other processes
  (embedded writers on the same root) are seen, folded by the writer of the namespace and
  shown to eventual reads within about a second under traffic; after the last look the
  namespace costs nothing until its next traffic. A strong read is a look too: namespaces
  read strongly all the time get no extra ones.
- Fold and compact the namespaces this process writes to, and those an owner's sweep asks
  for (`Engine.request_maintenance`: dirty markers, decisions 0057 and 0086), when this
  node owns them; decided from the state as last read (no request to decide; the work
  itself reads what it needs). A sweep's look is not traffic, and folds any tail it finds.
- Re-measure the recall curves of the indexed segments of the namespaces it owns on their
  recent real queries (recalibrate.py, decision 0094): once 50 were seen here, then after
  every 256 more, at most once an hour.
- Collect garbage every max(60 s, grace / 10) while the namespace has traffic or commits
  (so at most once more after the last of them), and a grace period after this process's
  last commit (a fold, a compaction, a DROP), so an idle or dropped namespace does not
  keep what its last commit replaced.
"""

from __future__ import annotations

import math
import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import UndefinedTable
from .fold import mergeable
from .recent_queries import RECENT_QUERIES
from .segments import MIN_REAL_QUERIES

if TYPE_CHECKING:
    from .engine import Engine
    from .namespace import Namespace

FIRST_LOOK_SECONDS = 1.0
# A recalibration costs seconds to minutes of CPU for large segments (exact search of every
# recent query over each segment): after the first, at most one an hour.
RECALIBRATION_INTERVAL_SECONDS = 3600.0


def look_schedule(cap: float) -> list[float]:
    """Seconds after a strong read ending a namespace's traffic at which it is looked at when
    nothing else reads it: 1, 3, 7, 15, ... (doubling intervals) and `cap` last."""
    times: list[float] = []
    t, interval = FIRST_LOOK_SECONDS, FIRST_LOOK_SECONDS
    while t < cap:
        times.append(t)
        interval *= 2
        t += interval
    return [*times, cap] if cap > 0 else []


@dataclass
class _State:
    traffic_at: float = -math.inf  # the traffic the interval was reset for
    interval: float = FIRST_LOOK_SECONDS
    last_look: float = -math.inf  # when the last look started (it may have failed)
    last_fold: float = -math.inf
    last_gc: float = -math.inf
    last_commit: float = -math.inf  # this process's last fold or compaction that committed
    drop_seen: tuple[str, int] | None = None  # the DROP record last counted as a commit
    recalibrated_seen: int = 0  # recent queries seen at the last recalibration
    last_recalibration: float = -math.inf


class Background:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._settings: Settings = engine.settings
        self._states: dict[str, _State] = {}

    def awake(self, name: str) -> bool:
        """Whether `name` has looks to come (False: it costs nothing until its traffic)."""
        ns = self._engine.namespace(name)
        return ns.cached() is not None and self._next_look(ns, self._state(name)) is not None

    def folded(self, name: str) -> None:
        """A fold ran (by the background or a statement), committing or not."""
        self._state(name).last_fold = time.monotonic()

    def committed(self, name: str) -> None:
        """This process committed a manifest of `name` that replaced segments or WAL."""
        self._state(name).last_commit = time.monotonic()

    def collected(self, name: str) -> None:
        self._state(name).last_gc = time.monotonic()

    def tick(self, names: list[str], requested: AbstractSet[str] = frozenset()) -> None:
        """One turn over the open namespaces; `requested` (Engine.request_maintenance: an
        owner's sweep) get a look and maintenance now, written here or not."""
        for name in names:
            if name not in requested:
                self._one(name)
        for name in sorted(requested):
            self._one(name, requested=True)

    def _state(self, name: str) -> _State:
        return self._states.setdefault(name, _State())

    def _next_look(self, ns: Namespace, state: _State) -> float | None:
        """When the next look is due (monotonic time), or None when the watch after the
        namespace's last traffic is over."""
        traffic_at = ns.last_traffic
        if traffic_at != state.traffic_at:  # traffic since: back to short intervals
            state.traffic_at, state.interval = traffic_at, FIRST_LOOK_SECONDS
        fresh = max(ns.refreshed_at, state.last_look)
        end = traffic_at + self._settings.idle_watch_seconds
        if fresh >= end:
            return None
        return min(fresh + state.interval, end)

    def _one(self, name: str, requested: bool = False) -> None:
        engine, settings = self._engine, self._settings
        ns = engine.namespace(name)
        state = self._state(name)
        now = time.monotonic()
        if ns.cached() is None and not requested:  # absent or dropped as last read: no
            self._after_drop(name, state, now)  # looks (a strong read finds it anew)
            return
        due = self._next_look(ns, state)
        if requested or (due is not None and now >= due):
            state.last_look, state.interval = now, state.interval * 2
            try:
                ns.snapshot(traffic=False)
            except UndefinedTable:
                self._after_drop(name, state, now)
                return
        if not engine.owns(name):
            return  # another cluster member's to maintain (decision 0057)
        if self._recalibration_due(name, state, now):
            state.recalibrated_seen = engine.recent_queries.seen(name)
            state.last_recalibration = now
            engine.recalibrate(name)
        snap = ns.cached()
        # The writers of a namespace index it, and its owner when its sweep asks; a
        # namespace this process committed to stays for its garbage collections.
        if snap is None or not (requested or ns.written or state.last_commit > -math.inf):
            return
        if snap.tail.records and (
            requested  # the owner's look may be the last for a while: fold what it found
            or snap.tail.pending_rows >= settings.fold_min_rows
            or now - state.last_fold >= settings.fold_interval_seconds
        ):
            engine.fold(name)
        after = ns.cached() or snap  # a fold moved the manifest
        if mergeable(after.manifest, settings):
            engine.compact(name)
        if self._gc_due(state, now, ns.last_traffic):
            engine.collect_garbage(name)

    def _recalibration_due(self, name: str, state: _State, now: float) -> bool:
        seen = self._engine.recent_queries.seen(name)
        if not state.recalibrated_seen:
            return seen >= MIN_REAL_QUERIES
        return (
            seen - state.recalibrated_seen >= RECENT_QUERIES
            and now - state.last_recalibration >= RECALIBRATION_INTERVAL_SECONDS
        )

    def _after_drop(self, name: str, state: _State, now: float) -> None:
        """A namespace this process wrote and saw dropped: everything of it is garbage a
        grace period after the drop (the collection then is its last sweep)."""
        ns = self._engine.namespace(name)
        if not (ns.written and self._engine.owns(name)) or ns.drop_record is None:
            return
        if state.drop_seen != ns.drop_record:
            state.drop_seen, state.last_commit = ns.drop_record, now
        if self._gc_due(state, now, ns.last_traffic):
            self._engine.collect_garbage(name)

    def _gc_due(self, state: _State, now: float, traffic_at: float) -> bool:
        grace = self._settings.gc_grace_seconds
        touched = max(traffic_at, state.last_commit) > state.last_gc
        if touched and now - state.last_gc >= max(60.0, grace / 10):
            return True
        # The last sweep: what this process's last commit replaced is collectable from
        # then on, and no collection ran since.
        return state.last_gc < state.last_commit + grace * 1.1 <= now
