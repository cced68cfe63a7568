"""This process as a cluster member: renews its heartbeat, keeps the member list, and says
which namespaces it owns, so that only owners fold, compact and collect (decision 0057).

Ownership decides who does background work, never whether a write is safe: WAL appends
and manifest commits are conditional writes, so two members that both believe they own a
namespace (a partition, a paused process) waste work but lose nothing.
"""

from __future__ import annotations

import logging
import threading
import time

from ..config import Settings
from ..engine import Engine, dirty_lifetime
from ..errors import ElacsymError, InvalidParameterValue
from . import rendezvous
from .heartbeat import Beat, Heartbeats
from .membership import Member, Self, members, owners, strangers
from .peers import Address, check_node_id, host_of, parse_peers

log = logging.getLogger(__name__)

# A heartbeat this old is a run that ended without retiring it (killed): delete it.
FORGET_SECONDS = 3600.0


class ClusterNode:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        """Checks the settings (22023 naming what is wrong) and takes over the engine's
        ownership check; no request is made before `start`."""
        self.engine = engine
        self.node_id = check_node_id(settings.node_id)
        self.role = settings.node_role
        self.ttl = settings.heartbeat_ttl_seconds
        self.period = settings.heartbeat_seconds
        self.peers = parse_peers(settings.peers) if settings.peers.strip() else None
        # A worker of `serve --workers N` is listed by its node's id; it serves at its own
        # private address, not the node's listed (shared) one.
        mine = [p for p in self.peers or () if p.node_id in (self.node_id, host_of(self.node_id))]
        if self.peers is not None and not mine:
            raise InvalidParameterValue(f"node id {self.node_id!r} is not among --peers")
        self.listed_address = mine[0].address if mine and mine[0].node_id == self.node_id else None
        self.address: Address | None = None
        self.sweep_seconds = settings.owner_sweep_seconds
        self.dirty_lifetime = dirty_lifetime(settings)
        self.heartbeats = Heartbeats(engine.store, self.node_id, self.role)
        engine.set_ownership(self.owns)  # owns nothing until its first heartbeat
        self._lock = threading.Lock()
        self._members: list[Member] = []
        self._owners: tuple[str, ...] = ()
        self._owner_of: dict[str, str | None] = {}  # for the current owners
        self._strangers: set[str] = set()
        self._last_sweep: float | None = None  # monotonic time of the last sweep (either kind)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="elacsym-cluster", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, address: Address | None) -> ClusterNode:
        """Heartbeat and list once (so ownership is known before the first request), then
        keep doing so every `heartbeat_seconds` on a thread. `address`: where this node
        serves, unless --peers lists its own."""
        self.address = self.listed_address or address
        self.heartbeats.advertise(self.address)
        self.round()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop heartbeating and retire this run's heartbeat: its namespaces move at once."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        with self._lock:  # a member no more: it owns nothing from here on
            self._members, self._owners, self._owner_of = [], (), {}
        try:
            self.heartbeats.retire()
        except ElacsymError as exc:
            log.warning("could not retire heartbeat %s: %s", self.heartbeats.key, exc)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.round()
            except Exception:  # the next round tries again; liveness shows the trouble
                log.exception("cluster heartbeat round failed")

    def round(self) -> None:
        """Renew, list, recompute members and owners; sweep all owned namespaces when
        ownership changed (and at start), else the dirty ones when a sweep is due."""
        try:
            self.heartbeats.renew()
        except ElacsymError as exc:
            log.warning("heartbeat not renewed: %s", exc)
        beats = self.heartbeats.read()
        me = Self(self.node_id, self.role, self.address, self.heartbeats.since_renewal())
        found = members(beats, me, self.peers, self.ttl)
        self._forget(beats)
        with self._lock:
            changed = owners(found) != self._owners
            self._members, self._owners = found, owners(found)
            if changed:
                self._owner_of = {}
        if changed:
            log.info("cluster owners now: %s", ", ".join(self._owners) or "(none)")
        self._warn_strangers(strangers(beats, self.peers))
        if changed or self._last_sweep is None:
            self.sweep()
            self.engine.hand_over()
        # (a query node, or one whose heartbeat is stale, owns nothing: no sweep)
        elif self.node_id in self._owners and self._sweep_due(self._last_sweep):
            self.sweep_dirty()

    def _sweep_due(self, last: float) -> bool:
        return time.monotonic() - last >= self.sweep_seconds

    def sweep(self) -> None:
        """Have the engine look once at every namespace this node owns: it may have gained
        some with a dead owner's unfolded writes, which no marker names (one LIST of
        `.namespaces/`, one look each)."""
        self._last_sweep = time.monotonic()
        mine = [n for n in self.engine.listed_namespaces() if self.owns(n)]
        self.engine.request_maintenance(mine)

    def sweep_dirty(self) -> None:
        """The periodic sweep, one LIST whatever the number of namespaces: look at the
        owned namespaces that dirty markers name, and delete those markers that are past
        their lifetime, unless marked again since they were listed (decision 0086)."""
        self._last_sweep = time.monotonic()
        now = self.heartbeats.store_now()
        mine = [m for m in self.engine.dirty.listed() if self.owns(m.namespace)]
        self.engine.request_maintenance(m.namespace for m in mine)
        for mark in mine:
            if now - mark.listed.mtime > self.dirty_lifetime:
                self.engine.dirty.expire(mark)

    # -- ownership -------------------------------------------------------------------------

    def members(self) -> list[Member]:
        with self._lock:
            return list(self._members)

    def member(self, node_id: str) -> Member | None:
        with self._lock:
            return next((m for m in self._members if m.node_id == node_id), None)

    def owners(self) -> tuple[str, ...]:
        """The members that own namespaces (live indexers), as of the last round."""
        with self._lock:
            return self._owners

    def owner_of(self, namespace: str) -> str | None:
        with self._lock:
            if namespace not in self._owner_of:
                self._owner_of[namespace] = rendezvous.owner(namespace, self._owners)
            return self._owner_of[namespace]

    def owns(self, namespace: str) -> bool:
        """Whether this node maintains `namespace`: it is the owner and its own heartbeat is
        fresh (a node that cannot renew stops working as an owner within the TTL)."""
        since = self.heartbeats.since_renewal()
        fresh = since is not None and since <= self.ttl and not self._stop.is_set()
        return fresh and self.owner_of(namespace) == self.node_id

    # -- housekeeping ----------------------------------------------------------------------

    def _forget(self, beats: list[Beat]) -> None:
        """Delete heartbeats of runs long over: this node's earlier runs once past the TTL,
        anyone's after FORGET_SECONDS."""
        for beat in beats:
            own_old = beat.node_id == self.node_id and beat.instance != self.heartbeats.instance
            if beat.age > FORGET_SECONDS or (own_old and beat.age > self.ttl):
                try:
                    self.heartbeats.delete(beat.node_id, beat.instance)
                except ElacsymError as exc:
                    log.warning("could not delete an old heartbeat: %s", exc)

    def _warn_strangers(self, found: set[str]) -> None:
        for node_id in sorted(found - self._strangers):
            log.warning("node %r heartbeats on this root but is not among --peers", node_id)
        self._strangers = found
