"""Heartbeat objects: each running member renews one small object under `.cluster/nodes/`
every few seconds; one LIST shows every member and how long ago each renewed.

Ages are measured on the object store's clock, never by comparing two hosts' clocks: the
store stamps every renewal (LastModified), and "now" on that clock is this member's own
last stamp plus the time since that renewal, measured on this host's monotonic clock
(decision 0056). Each key is written by one run of one member (`<node id>/<instance>`) and
its contents never change, so a member's details are read once per run, not per renewal.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass

from ..layout import CLUSTER_NODES, heartbeat_key, heartbeat_of
from ..storage import ObjectNotFound, ObjectStore
from .peers import Address

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Beat:
    """One member run's heartbeat as last listed."""

    node_id: str
    instance: str
    role: str
    address: Address | None
    age: float  # seconds since its last renewal, on the store's clock


class Heartbeats:
    def __init__(self, store: ObjectStore, node_id: str, role: str) -> None:
        self.store = store
        self.node_id = node_id
        self.role = role
        self.instance = uuid.uuid4().hex[:16]
        self.key = heartbeat_key(node_id, self.instance)
        self._body = b""
        self._details: dict[str, tuple[str, Address | None] | None] = {}  # key -> role, address
        self._renewal_sent: float | None = None  # monotonic time of the last renewal's PUT
        self._own_stamp: float | None = None  # its LastModified, as last listed
        self.advertise(None)

    def advertise(self, address: Address | None) -> None:
        """What this run's heartbeat says: its role and where it serves (set before the
        first renewal: a key's contents never change)."""
        body: dict[str, object] = {"node_id": self.node_id, "instance": self.instance}
        body["role"] = self.role
        if address is not None:
            body |= {"host": address.host, "pg_port": address.pg_port}
            body |= {"http_port": address.http_port}
        self._body = json.dumps(body).encode()

    def renew(self) -> None:
        """Write this run's heartbeat again (raises StorageError when the store refuses)."""
        sent = time.monotonic()
        self.store.put(self.key, self._body)
        self._renewal_sent = sent

    def since_renewal(self) -> float | None:
        """Seconds since the last successful renewal was sent (this host's clock)."""
        return None if self._renewal_sent is None else time.monotonic() - self._renewal_sent

    def read(self, observer: bool = False) -> list[Beat]:
        """Every heartbeat in the root, with its age on the store's clock. `observer`: for
        a reader that never renews (an embedded connection): ages are counted from the
        freshest heartbeat listed, still the store's clock only (members renew every few
        seconds, so while any is up the freshest is that recent)."""
        listed = {o.key: o.mtime for o in self.store.list(CLUSTER_NODES)}
        if observer:
            now = max(listed.values(), default=0.0)
        else:
            self._own_stamp = listed.get(self.key, self._own_stamp)
            now = self.store_now()
        beats = []
        for key, mtime in listed.items():
            found = heartbeat_of(key)
            details = self._read_details(key) if found else None
            if found and details:
                beats.append(Beat(*found, *details, age=max(0.0, now - mtime)))
        return beats

    def delete(self, node_id: str, instance: str) -> None:
        """Remove a heartbeat of a run that is over (its own at a clean stop, or one long
        dead)."""
        key = heartbeat_key(node_id, instance)
        self.store.delete(key)
        self._details.pop(key, None)

    def retire(self) -> None:
        """Remove this run's heartbeat: the others see it gone at their next LIST, without
        waiting for the TTL."""
        self.delete(self.node_id, self.instance)

    def store_now(self) -> float:
        """The store's clock now: this run's last stamp listed plus the time since that
        renewal was sent. Before the first renewal is listed, the local clock stands in."""
        since = self.since_renewal()
        if self._own_stamp is None or since is None:
            return time.time()
        return self._own_stamp + since

    def _read_details(self, key: str) -> tuple[str, Address | None] | None:
        """(role, address) a heartbeat object holds; None (remembered) for a malformed one."""
        if key in self._details:
            return self._details[key]
        try:
            body = json.loads(self.store.get(key))
            port = body.get("pg_port")
            address = Address(body["host"], port, body.get("http_port")) if port else None
            details: tuple[str, Address | None] | None = (str(body["role"]), address)
        except ObjectNotFound:
            return None  # retired between the LIST and the GET
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring %s: not a heartbeat object", key)
            details = None
        self._details[key] = details
        return details
