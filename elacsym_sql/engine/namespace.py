"""One namespace as this process sees it: its manifest, its WAL tail, and its write path.

Reads are strong: `snapshot()` probes the WAL for the next sequence number (one GET when
nothing changed) and re-reads the manifest pointer when the cached manifest is older than
`manifest_refresh_seconds`. Writes append one WAL object at the next free sequence number
with a conditional create; an acknowledged write is in storage before `append` returns.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pyarrow as pa

from ..catalog import Manifest, ManifestStore
from ..config import Settings
from ..errors import SerializationFailure, UndefinedTable
from ..schema import Schema
from ..storage import ObjectStore
from ..wal import WalLog, WalRecord, encode_record
from ..wal.record import Kind
from .tail import Tail


class WriteConflict(Exception):
    """The namespace changed after the state a conditional write was computed from."""


@dataclass(frozen=True)
class Snapshot:
    """A consistent view: segments of `manifest` plus the WAL records after its high-water mark."""

    manifest: Manifest
    tail: Tail
    tail_seq: int  # the last WAL sequence number this view includes

    @property
    def schema(self) -> Schema:
        return self.manifest.schema

    @property
    def name(self) -> str:
        return self.manifest.namespace

    @property
    def token(self) -> tuple[str, int, int]:
        """Equal tokens mean equal contents (same segments, same tail)."""
        return (self.manifest.incarnation, self.manifest.version, self.tail_seq)


class Namespace:
    def __init__(self, name: str, store: ObjectStore, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self.wal = WalLog(store, name)
        self.manifests = ManifestStore(store)
        # Held by a writer from evaluating a statement to appending it, so writers in this
        # process do not race each other; other processes are fenced by the conditional put.
        self.write_lock = threading.RLock()
        self._lock = threading.Lock()
        self._manifest: Manifest | None = None
        self._manifest_read_at = 0.0
        self._tail: Tail | None = None
        self._tail_seq = 0
        self._dropped = False
        self._drop_record: tuple[str, int] | None = None  # (incarnation, seq) of a drop read
        self._written = False

    # -- reading ---------------------------------------------------------------------------

    @property
    def drop_record(self) -> tuple[str, int] | None:
        """(incarnation, seq) of the last DROP record this handle read from the WAL."""
        return self._drop_record

    @property
    def written(self) -> bool:
        """Whether this process has appended to the namespace: writers do its indexing."""
        return self._written

    def snapshot(self) -> Snapshot:
        """The current state; raises UndefinedTable when the namespace does not exist."""
        with self._lock:
            self._refresh_manifest(force=self._manifest is None or self._dropped)
            self._read_new_wal()
            return self._current()

    def exists(self) -> bool:
        try:
            self.snapshot()
        except UndefinedTable:
            return False
        return True

    def _current(self) -> Snapshot:
        if self._manifest is None or self._dropped or self._tail is None:
            raise UndefinedTable(f'relation "{self.name}" does not exist')
        return Snapshot(self._manifest, self._tail, self._tail_seq)

    def _refresh_manifest(self, force: bool = False) -> None:
        age = time.monotonic() - self._manifest_read_at
        if not force and age < self.settings.manifest_refresh_seconds:
            return
        latest = self.manifests.load_latest(self.name)
        self._manifest_read_at = time.monotonic()
        if latest is None:
            self._manifest, self._tail, self._dropped = None, None, False
            return
        self._adopt(latest)

    def _adopt(self, manifest: Manifest) -> None:
        """Move to a newer manifest, keeping the tail records it does not cover."""
        current = self._manifest
        if current is not None and manifest.incarnation == current.incarnation:
            if manifest.version <= current.version:
                return
            assert self._tail is not None
            self._tail = self._tail.after(manifest.wal_hwm)
            self._tail_seq = max(self._tail_seq, manifest.wal_hwm)
            self._dropped = self._dropped or manifest.dropped  # a drop is final
        else:
            self._tail = Tail(manifest.schema)
            self._tail_seq = manifest.wal_hwm
            self._dropped = manifest.dropped
        self._manifest = manifest

    def _read_new_wal(self) -> None:
        if self._manifest is None:
            return
        while (record := self.wal.read(self._tail_seq + 1)) is not None:
            self._take(self._tail_seq + 1, record)

    def _take(self, seq: int, record: WalRecord) -> None:
        assert self._manifest is not None and self._tail is not None
        self._tail_seq = seq
        if record.incarnation != self._manifest.incarnation or self._dropped:
            return  # a straggler of a dropped incarnation, or a write racing the drop
        if record.kind == "drop":
            self._dropped = True
            self._drop_record = (record.incarnation, seq)
            return
        self._tail = self._tail.apply(seq, record)

    def reload_manifest(self) -> None:
        """Read the newest manifest now (after losing a commit race to another process)."""
        with self._lock:
            self._refresh_manifest(force=True)

    def adopt_committed(self, manifest: Manifest) -> None:
        """Take a manifest this process just committed, without reading it back."""
        with self._lock:
            self._adopt(manifest)

    # -- writing ---------------------------------------------------------------------------

    def append(self, kind: Kind, table: pa.Table, based_on: int | None = None) -> int:
        """Append one statement's rows; returns its sequence number once durable.

        With `based_on`, the rows were computed from the snapshot ending at that sequence
        number: the append succeeds only directly after it, else WriteConflict. Without it
        (blind upserts and deletes by key) a lost race simply retries at the next number.
        """
        with self.write_lock:
            payload = b""
            incarnation = ""
            for _ in range(self.settings.write_retries):
                with self._lock:
                    self._refresh_manifest()
                    snap = self._current()
                seq = snap.tail_seq + 1
                if based_on is not None and based_on != snap.tail_seq:
                    raise WriteConflict
                if incarnation != snap.manifest.incarnation:
                    incarnation = snap.manifest.incarnation
                    record = WalRecord(kind, incarnation, table)
                    payload = encode_record(record)
                if self.wal.try_append(seq, payload):
                    self._written = True
                    with self._lock:
                        if self._tail_seq == seq - 1:
                            self._take(seq, record)
                    return seq
                with self._lock:
                    self._read_new_wal()
                if based_on is not None:
                    raise WriteConflict
            raise SerializationFailure(
                f"could not append to namespace {self.name}: lost "
                f"{self.settings.write_retries} races with other writers"
            )

    def append_drop(self) -> int:
        return self.append("drop", pa.table({}))
