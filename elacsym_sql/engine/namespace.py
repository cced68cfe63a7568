"""One namespace as this process sees it: its manifest, its WAL tail, and its write path.

Strong reads, `snapshot()`, probe the WAL for the next sequence number (one GET when
nothing changed) and re-read the manifest pointer when the cached manifest is older than
`manifest_refresh_seconds`. Eventual reads, `recent()`, take the state as last read, with
no request. Writes append one WAL object at the next free sequence number with a
conditional create; an acknowledged write is in storage before `append` returns; blind
writes of several threads at once share one object (`append_grouped`). Reads and
writes are the namespace's traffic (`last_traffic`): the background looks for other
processes' writes only for a while after it (decision 0060).

A WAL object written by a multi-namespace transaction counts only once its decision says
committed (txn_decisions.py); until then it is *pending*: readers leave it out, folds stop
before it, and conditional writers wait for it to be decided.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import pyarrow as pa

from ..catalog import Manifest, ManifestStore
from ..config import Settings
from ..errors import ElacsymError, SerializationFailure, UndefinedTable
from ..interrupts import check_interrupt
from ..schema import Schema
from ..storage import ObjectStore
from ..storage.base import Blob
from ..wal import TxnRef, WalEntry, WalLog, WalRecord, encode_entry
from ..wal.record import Kind
from .group_commit import GroupCommit, Outcome
from .stalled_append import Stamp, landed_in_folded_slot, may_have_been_collected
from .tail import Tail, net_change
from .txn_decisions import TxnDecisions

log = logging.getLogger(__name__)


class WriteConflict(Exception):
    """The namespace changed after the state a conditional write was computed from."""


@dataclass(frozen=True)
class Snapshot:
    """A consistent view: segments of `manifest` plus the WAL records after its high-water mark."""

    manifest: Manifest
    tail: Tail
    tail_seq: int  # the last WAL sequence number this view includes
    # Undecided multi-namespace commits at or before tail_seq, left out of `tail`.
    pending: tuple[tuple[int, TxnRef], ...] = ()
    # Multi-namespace commits whose records are in `tail` (txn_decisions.settle reads them).
    txns: tuple[tuple[int, TxnRef], ...] = ()
    late: int = 0  # records decided after later ones were read (inserted into the tail)
    overlay: int = 0  # nonzero: a transaction's own staged writes are in `tail` too

    @property
    def schema(self) -> Schema:
        return self.manifest.schema

    @property
    def name(self) -> str:
        return self.manifest.namespace

    @property
    def token(self) -> tuple[str, int, int, int, int]:
        """Equal tokens mean equal contents (same segments, same tail)."""
        m = self.manifest
        return (m.incarnation, m.version, self.tail_seq, self.late, self.overlay)

    def foldable(self) -> Snapshot:
        """This snapshot up to the first pending record: a fold must not pass it."""
        if not self.pending:
            return self
        stop = min(seq for seq, _ in self.pending) - 1
        txns = tuple((s, t) for s, t in self.txns if s <= stop)
        return replace(self, tail=self.tail.upto(stop), tail_seq=stop, pending=(), txns=txns)


class Namespace:
    def __init__(
        self,
        name: str,
        store: ObjectStore,
        settings: Settings,
        decisions: TxnDecisions,
        mark_unowned: Callable[[str], bool] = lambda name: False,
    ) -> None:
        self.name = name
        self.settings = settings
        self.decisions = decisions
        # Leaves a dirty marker, and says True, when this process does not own the
        # namespace: its owner folds what we append (dirty_marks.py).
        self._mark_unowned = mark_unowned
        self.wal = WalLog(store, name)
        self.manifests = ManifestStore(store)
        # Held by a writer from evaluating a statement to appending it, so writers in this
        # process do not race each other; other processes are fenced by the conditional put.
        self.write_lock = threading.RLock()
        # Blind writes of this process's threads, appended together (group_commit.py).
        self.group = GroupCommit[tuple[Kind, pa.Table, Schema]](self.write_lock, self._append_batch)
        self._lock = threading.Lock()
        self._manifest: Manifest | None = None
        self._manifest_read_at = Stamp(-math.inf, -math.inf)  # when the pointer read began
        self._tail: Tail | None = None
        self._tail_seq = 0
        self._pending: dict[int, WalEntry] = {}
        self._txns: dict[int, TxnRef] = {}  # committed multi-namespace records in the tail
        self._late = 0
        self._dropped = False
        self._drop_record: tuple[str, int] | None = None  # (incarnation, seq) of a drop read
        self._written = False
        #: time.monotonic() of the last read or write through this handle (not background work)
        self.last_traffic = -math.inf
        #: time.monotonic() at the start of the last strong read: it saw every write
        #: acknowledged before then
        self.refreshed_at = -math.inf

    # -- reading ---------------------------------------------------------------------------

    @property
    def drop_record(self) -> tuple[str, int] | None:
        """(incarnation, seq) of the last DROP record this handle read from the WAL."""
        return self._drop_record

    @property
    def written(self) -> bool:
        """Whether this process has appended to the namespace: writers do its indexing."""
        return self._written

    @property
    def unindexed_rows(self) -> int | None:
        """Rows of the tail as last read, without reading storage; None before the first read
        and after a drop."""
        tail = self._tail
        return (
            None if tail is None or self._dropped or self._manifest is None else tail.pending_rows
        )

    def snapshot(self, *, traffic: bool = True) -> Snapshot:
        """The current state (a strong read); raises UndefinedTable when the namespace does
        not exist. `traffic=False`: background work (a fold, a look), not a user's read."""
        with self._lock:
            started = time.monotonic()
            if traffic:
                self.last_traffic = started
            self._refresh_manifest(force=self._manifest is None or self._dropped)
            self._read_new_wal()
            self._settle_pending()
            self.refreshed_at = started  # also when it does not exist: that is fresh too
            return self._current()

    def recent(self) -> Snapshot:
        """The state as last read, without a request (an eventual read): a strong read when
        there is none yet, or when it said the namespace does not exist."""
        with self._lock:
            self.last_traffic = time.monotonic()
            if self._manifest is not None and self._tail is not None and not self._dropped:
                return self._current()
        return self.snapshot()

    def cached(self) -> Snapshot | None:
        """The state as last read, or None (not read yet, absent, dropped); neither a
        request nor traffic."""
        with self._lock:
            if self._manifest is None or self._tail is None or self._dropped:
                return None
            return self._current()

    def exists(self, *, traffic: bool = True) -> bool:
        try:
            self.snapshot(traffic=traffic)
        except UndefinedTable:
            return False
        return True

    def _current(self) -> Snapshot:
        if self._manifest is None or self._dropped or self._tail is None:
            raise UndefinedTable(f'relation "{self.name}" does not exist')
        pending = tuple((seq, e.txn) for seq, e in sorted(self._pending.items()) if e.txn)
        txns = tuple(sorted(self._txns.items()))
        return Snapshot(self._manifest, self._tail, self._tail_seq, pending, txns, self._late)

    def _refresh_manifest(self, force: bool = False) -> None:
        if not force and self._manifest_read_at.age() < self.settings.manifest_refresh_seconds:
            return
        started = Stamp()  # the manifest read was newest at some moment after this
        latest = self.manifests.load_latest(self.name, self._manifest)
        self._manifest_read_at = started
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
            self._pending = {s: e for s, e in self._pending.items() if s > manifest.wal_hwm}
            self._txns = {s: t for s, t in self._txns.items() if s > manifest.wal_hwm}
            self._dropped = self._dropped or manifest.dropped  # a drop is final
        else:
            self._tail = Tail(manifest.schema)
            self._tail_seq = manifest.wal_hwm
            self._pending, self._txns = {}, {}
            self._dropped = manifest.dropped
        self._manifest = manifest

    def _read_new_wal(self) -> None:
        if self._manifest is None:
            return
        while (entry := self.wal.read(self._tail_seq + 1)) is not None:
            self._take(self._tail_seq + 1, entry)

    def _take(self, seq: int, entry: WalEntry) -> None:
        assert self._manifest is not None and self._tail is not None
        self._tail_seq = seq
        if entry.incarnation != self._manifest.incarnation or self._dropped:
            return  # a straggler of a dropped incarnation, or a write racing the drop
        if entry.records[0].kind == "drop":
            self._dropped = True
            self._drop_record = (entry.incarnation, seq)
            return
        decided = self.decisions.known(entry.txn.id) if entry.txn else True
        if decided is None:
            self._pending[seq] = entry
        elif decided:
            self._tail = self._tail.apply(seq, entry.records)
            if entry.txn:
                self._txns[seq] = entry.txn

    def _settle_pending(self) -> None:
        """Look up the decisions of pending records (one GET each while undecided)."""
        assert self._tail is not None or not self._pending
        for seq, entry in sorted(self._pending.items()):
            assert entry.txn is not None and self._tail is not None
            decided = self.decisions.lookup(entry.txn)
            if decided is None:
                continue
            del self._pending[seq]
            if decided:
                self._tail = self._tail.insert(seq, entry.records)
                self._txns[seq] = entry.txn
                self._late += 1

    def wait_for_pending(self) -> None:
        """Block until no undecided transaction record is in the tail (writers that read
        before they write must see them decided: at most about `txn_timeout_seconds`)."""
        while pending := self.snapshot().pending:
            for _, ref in pending:
                self.decisions.wait(ref)

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

        def directly_after(snap: Snapshot) -> None:
            if snap.tail_seq != based_on or snap.pending:
                raise WriteConflict

        check = directly_after if based_on is not None else None
        return self.append_records([(kind, table)], check)

    def append_grouped(self, kind: Kind, table: pa.Table, schema: Schema) -> int:
        """Append one statement's rows (upsert) or keys (delete), computed against `schema`
        without reading stored rows, in one WAL object with the statements other threads
        append at the same time (group_commit.py); returns its sequence number once
        durable. WriteConflict when the schema changed meanwhile: compute it again.
        Never call it holding `write_lock`: the batch's leader may be another thread."""
        assert table.num_rows, "an empty write appends nothing"
        self.last_traffic = time.monotonic()
        return self.group.submit((kind, table, schema), table.nbytes)

    def _append_batch(self, batch: list[tuple[Kind, pa.Table, Schema]]) -> list[Outcome]:
        """Append a batch of statements as one WAL object: later statements win per key, as
        separate objects in order would. Those computed against another schema than the
        current one get WriteConflict instead (their rows may not fit it)."""
        try:
            # A strong read, as a lone writer's statement made before it: the number after
            # other processes' newest object, and the newest schema (one GET a batch).
            schema = self.snapshot(traffic=False).schema
        except UndefinedTable as exc:
            return [exc for _ in batch]
        fits = [i for i, (_, _, s) in enumerate(batch) if s is schema or s == schema]
        outcomes: list[Outcome] = [WriteConflict() for _ in batch]
        if not fits:
            return outcomes
        writes = [batch[i][:2] for i in fits]
        parts = writes if len(writes) == 1 else net_change(schema, writes)

        def same_schema(snap: Snapshot) -> None:
            if snap.schema != schema:
                raise WriteConflict

        outcome: Outcome
        try:
            outcome = self.append_records(parts, same_schema)
        except Exception as exc:  # the batch's statements share its error
            outcome = exc
        for i in fits:
            outcomes[i] = outcome
        return outcomes

    def append_records(
        self,
        parts: Sequence[tuple[Kind, pa.Table]],
        check: Callable[[Snapshot], None] | None = None,
        txn: TxnRef | None = None,
    ) -> int:
        """Append one WAL object holding `parts`; returns its sequence number once durable.

        `check` sees the snapshot the object would follow and raises to refuse it (it is
        asked again after every lost race); `txn` tags the object as part of a
        multi-namespace transaction.
        """
        check_interrupt()  # before anything is written: a cancel leaves nothing behind
        self.last_traffic = time.monotonic()
        marked = self._mark_unowned(self.name)  # before: a crash after the append leaves it
        seq = self._append_records(parts, check, txn)
        if not marked:  # owned when it began: mark if ownership moved while it ran
            try:
                self._mark_unowned(self.name)
            except ElacsymError as exc:  # the write is durable; the new owner folds it at
                log.warning("no dirty marker for %s: %s", self.name, exc)  # its next look
        return seq

    def _append_records(
        self,
        parts: Sequence[tuple[Kind, pa.Table]],
        check: Callable[[Snapshot], None] | None,
        txn: TxnRef | None,
    ) -> int:
        with self.write_lock:
            payload = b""
            incarnation = ""
            entry = WalEntry(())
            for _ in range(self.settings.write_retries):
                with self._lock:
                    self._refresh_manifest(force=self._manifest is None or self._dropped)
                    snap = self._current()
                    chosen_from = self._manifest_read_at
                if check is not None:
                    check(snap)
                seq = snap.tail_seq + 1
                if incarnation != snap.manifest.incarnation:
                    incarnation = snap.manifest.incarnation
                    records = tuple(WalRecord(k, incarnation, t) for k, t in parts)
                    entry = WalEntry(records, txn)
                    payload = encode_entry(records, txn)
                if self.wal.try_append(seq, payload):
                    if self._landed_in_folded_slot(seq, payload, chosen_from):
                        continue
                    self._written = True
                    with self._lock:
                        if self._tail_seq == seq - 1:
                            self._take(seq, entry)
                    return seq
                with self._lock:
                    self._read_new_wal()
            raise SerializationFailure(
                f"could not append to namespace {self.name}: lost "
                f"{self.settings.write_retries} races with other writers"
            )

    def _landed_in_folded_slot(self, seq: int, payload: Blob, chosen_from: Stamp) -> bool:
        """After a create that took long: whether `seq` was folded and collected meanwhile
        (stalled_append.py). Then our object is an orphan readers skip: it is removed (if
        still ours) and the cached state refreshed, so the caller retries at a later number."""
        grace = self.settings.gc_grace_seconds
        if not may_have_been_collected(chosen_from, grace):
            return False
        if not landed_in_folded_slot(self.wal.store, self.name, seq):
            return False
        self.wal.remove_orphan(seq, payload)
        with self._lock:
            self._refresh_manifest(force=True)
            self._read_new_wal()
        return True

    def append_drop(self) -> int:
        return self.append("drop", pa.table({}))
