"""A WAL append that stalled: did it land in a slot that was already folded and collected?

A writer picks sequence number N from a manifest it read (high-water mark below N) and
creates WAL object N conditionally. GC deletes a folded WAL object once every manifest
that was newest during the last `gc_grace_seconds` covers it, so a writer stalled that
long (SIGSTOP, a paused VM) can find N free again although N was written, folded and
collected meanwhile: its create succeeds, yet readers skip N (the manifest covers it).

Such a create can only happen when more than about `gc_grace_seconds` passed since the
manifest read the number was chosen from; when less than half of it passed (half: room
for the GC node's clock running ahead of the store's) nothing needs checking, so the
happy path costs no request. Otherwise `landed_in_folded_slot` decides from the store's
own clock: the slot was folded before our object landed iff a manifest version committed
before our object's mtime already covers N (versions' high-water marks only grow). In the
real loss that version is at least the grace period older than our object, so mtimes of
one-second resolution cannot tie; a manifest committed after our object that covers N
folded *our* object, which then counts. (A covering version committed before the create
implies WAL object N existed then and was collected before our create succeeded.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..catalog import ManifestStore
from ..errors import StatementCompletionUnknown
from ..layout import wal_key
from ..storage import ObjectNotFound, ObjectStore


@dataclass(frozen=True)
class Stamp:
    """When something was read: monotonic (immune to clock steps) and wall (keeps counting
    while the machine is suspended, which the monotonic clock does not)."""

    mono: float = field(default_factory=time.monotonic)
    wall: float = field(default_factory=time.time)

    def age(self) -> float:
        return max(time.monotonic() - self.mono, time.time() - self.wall)


def may_have_been_collected(chosen_from: Stamp, grace: float) -> bool:
    """Whether a slot chosen from a manifest read at `chosen_from` could have been folded
    and collected by now."""
    return chosen_from.age() >= grace / 2


def landed_in_folded_slot(store: ObjectStore, namespace: str, seq: int) -> bool:
    """True when WAL slot `seq`, which we just created, was covered by a manifest committed
    before our object landed: our object is ignored by readers and must not be acknowledged.
    Reads the newest manifest (a GET or two); only when it covers `seq`, two LISTs and a
    GET more."""
    manifests = ManifestStore(store)
    latest = manifests.load_latest(namespace)
    if latest is None or latest.wal_hwm < seq:
        return False  # nothing covers seq yet: whoever folds it next reads our object
    key = wal_key(namespace, seq)
    landed = next((o.mtime for o in store.list(key) if o.key == key), None)
    versions = manifests.list_versions(namespace) if landed is not None else []
    before = [v for v, mtime in versions if landed is not None and mtime < landed]
    # The newest version surely committed before our object; else the oldest stored: when
    # even that is below seq, so was every earlier one (same-second ties cannot be a loss).
    probe = max(before) if before else min((v for v, _ in versions), default=None)
    try:
        hwm = None if probe is None else manifests.load_version(namespace, probe).wal_hwm
    except ObjectNotFound:
        hwm = None  # collected since it was listed
    if hwm is not None:
        if hwm < seq:
            return False
        if before:
            return True
    # Our object, or every manifest that could tell, was collected: the writer stalled for
    # about a grace period after its create too.
    raise StatementCompletionUnknown(
        f"a write to {namespace} stalled too long to tell whether it took effect",
        hint="read the data to find out",
    )
