"""An embedded connection's view of the cluster (`elacsym_sql.connect(..., cluster=True)`,
decision 0084): enough to send its writes to their namespaces' owners, and nothing more.

It is no member: it writes no heartbeat, owns nothing and runs no background work. It
lists the members' heartbeats only when it has a write to route, at most once per
heartbeat period, so an idle connection costs no requests.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from ..config import Settings
from ..engine import Engine
from . import rendezvous
from .heartbeat import Heartbeats
from .membership import Member, Self, members, owners
from .peers import parse_peers

ROLE = "embedded"  # never an owner (only live indexers own)


class ClusterObserver:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        # Named for the forwarding connection's application_name; unique per process.
        self.node_id = f"{socket.gethostname()}-embedded-{os.getpid()}"
        self.ttl = settings.heartbeat_ttl_seconds
        self.period = settings.heartbeat_seconds
        self.peers = parse_peers(settings.peers) if settings.peers.strip() else None
        self._heartbeats = Heartbeats(engine.store, self.node_id, ROLE)
        self._lock = threading.Lock()
        self._members: list[Member] = []
        self._owners: tuple[str, ...] = ()
        self._read_at: float | None = None

    def _fresh(self) -> None:
        """Read the heartbeats again when the last reading is a period old."""
        with self._lock:
            if self._read_at is not None and time.monotonic() - self._read_at < self.period:
                return
            beats = self._heartbeats.read(observer=True)
            me = Self(self.node_id, ROLE, None, None)
            found = [m for m in members(beats, me, self.peers, self.ttl) if not m.is_self]
            self._members, self._owners = found, owners(found)
            self._read_at = time.monotonic()

    def owner_of(self, namespace: str) -> str | None:
        self._fresh()
        return rendezvous.owner(namespace, self._owners)

    def member(self, node_id: str) -> Member | None:
        return next((m for m in self._members if m.node_id == node_id), None)
