"""Append and read WAL objects of one namespace at dense sequence numbers."""

from __future__ import annotations

from ..layout import wal_key, wal_seq
from ..metrics import WAL_APPENDS
from ..storage import ObjectNotFound, ObjectStore, PreconditionFailed
from ..storage.base import Blob
from .record import WalEntry, decode_entry


class WalLog:
    def __init__(self, store: ObjectStore, namespace: str) -> None:
        self.store = store
        self.namespace = namespace

    def try_append(self, seq: int, payload: Blob) -> bool:
        """Create the WAL object at `seq`; False when another writer holds that number."""
        try:
            self.store.put_if_absent(wal_key(self.namespace, seq), payload)
        except PreconditionFailed:
            WAL_APPENDS.labels("conflict").inc()
            return False
        WAL_APPENDS.labels("committed").inc()
        return True

    def remove_orphan(self, seq: int, payload: Blob) -> None:
        """Delete the object we created at `seq` (and found already folded: readers skip
        it), unless it is gone or another writer's by now."""
        key = wal_key(self.namespace, seq)
        WAL_APPENDS.labels("orphaned").inc()
        try:
            if self.store.get(key) != bytes(payload):  # a rare path: the copy is fine
                return
        except ObjectNotFound:
            return
        self.store.delete(key)

    def read(self, seq: int) -> WalEntry | None:
        """The entry at `seq`, or None when nothing was written there (yet)."""
        key = wal_key(self.namespace, seq)
        try:
            data = self.store.get(key)
        except ObjectNotFound:
            return None
        return decode_entry(data, key)

    def seq_of(self, key: str) -> int | None:
        """The sequence number a listed key names, or None for other objects."""
        return wal_seq(self.namespace, key)
