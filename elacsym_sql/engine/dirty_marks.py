"""Dirty markers: how a cluster owner learns, with one LIST a period, which of its
namespaces other processes wrote to (decision 0086).

A process that appends to a namespace it does not own (a member committing a transaction
block where it runs; an embedded process, which cannot know whether a cluster
shares the root) puts `.cluster/dirty/<namespace>` before the append, so a crash after
the append still leaves the mark. It puts it again only when its last mark of that
namespace is `dirty_mark_seconds` old: a stream of writes costs one extra PUT a period,
not one per write. An owner deletes a marker once it is older (by its LastModified, on
the store's clock) than `dirty_lifetime`: every append a mark covers starts within the
refresh period after it and lands within a request's deadline, so the sweep that
deletes the marker, or an earlier one, looks at the namespace after the append landed.

Each mark's body is unique, so a mark made again has a new ETag, and the owner's
conditional delete of the one it listed cannot remove it.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass

from ..config import Settings
from ..layout import CLUSTER_DIRTY, dirty_key, dirty_namespace
from ..storage import ObjectInfo, ObjectStore

# LastModified has a resolution of one second, and an owner knows the store's clock from
# its own heartbeat's stamp (cluster/heartbeat.py): a little slack for both.
CLOCK_SECONDS = 2.0


def dirty_lifetime(settings: Settings) -> float:
    """How old a marker must be before its owner deletes it: the writers' refresh period
    (an append may start that long after the mark it relies on), plus a request's
    `storage_deadline_seconds` (the append's PUT may take that long), plus the clocks'
    slack, plus a sweep period (so a sweep lists it after the last such append landed)."""
    return (
        settings.dirty_mark_seconds
        + settings.storage_deadline_seconds
        + CLOCK_SECONDS
        + settings.owner_sweep_seconds
    )


@dataclass(frozen=True)
class Mark:
    namespace: str
    listed: ObjectInfo  # LastModified (on the store's clock) and ETag, as listed


class DirtyMarks:
    def __init__(self, store: ObjectStore, refresh_seconds: float) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._instance = uuid.uuid4().hex[:16]
        self._count = itertools.count()
        self._marked: dict[str, float] = {}  # namespace -> monotonic time its last mark was sent
        self._lock = threading.Lock()

    def mark(self, namespace: str) -> bool:
        """Put the namespace's marker unless this process marked it less than a refresh
        period ago; whether it put one. Raises StorageError (the append must not follow)."""
        sent = time.monotonic()
        with self._lock:
            last = self._marked.get(namespace)
            if last is not None and sent - last < self.refresh_seconds:
                return False
            body = {"by": self._instance, "n": next(self._count)}
        self.store.put(dirty_key(namespace), json.dumps(body).encode())
        with self._lock:  # the time it was sent: the marker is at least that recent
            self._marked[namespace] = max(sent, self._marked.get(namespace, sent))
        return True

    def listed(self) -> list[Mark]:
        """Every marker in the root (one LIST, more pages past 1,000)."""
        found = ((dirty_namespace(o.key), o) for o in self.store.list(CLUSTER_DIRTY))
        return [Mark(name, info) for name, info in found if name is not None]

    def expire(self, mark: Mark) -> bool:
        """Delete the marker if nobody marked it again since it was listed."""
        return self.store.delete_if_unchanged(mark.listed)
