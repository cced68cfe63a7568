"""Transaction blocks: snapshot reads, staged writes, all-or-nothing commit.

Each namespace a transaction touches is read at the snapshot taken when it first touches
it; its writes are staged in memory and read back by the transaction itself (`snapshot`
shows them). COMMIT writes each namespace's net change as one WAL object, after checking
that no commit since the snapshot changed a key the transaction writes (first committer
wins, else SQLSTATE 40001). Several namespaces commit through a decision object
(txn_decisions.py); docs/decisions/0021-transactions.md has the protocol.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ProgramLimitExceeded, SerializationFailure
from ..wal import TxnRef, WalRecord
from ..wal.record import Kind
from .namespace import Namespace, Snapshot
from .tail import net_change

if TYPE_CHECKING:
    from .engine import Engine

_overlay_ids = itertools.count(1)  # distinguishes snapshots carrying staged writes


class _Undecided(Exception):
    """A transaction record the conflict check must see decided is still pending."""


class Transaction:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pinned: dict[str, Snapshot] = {}
        self._staged: dict[str, list[WalRecord]] = {}
        self._order: list[str] = []  # the namespace of each staged record, oldest first
        self._bytes = 0
        self._views: dict[str, Snapshot] = {}  # pinned + staged, made again after a stage

    @property
    def wrote(self) -> bool:
        return bool(self._order)

    def snapshot(self, name: str) -> Snapshot:
        """What the transaction sees of `name`: its snapshot plus its own staged writes."""
        view = self._views.get(name)
        if view is not None:
            return view
        base = self._pin(name)
        staged = self._staged.get(name)
        if not staged:
            return base
        tail = base.tail.apply(base.tail_seq + 1, tuple(staged))  # newest last: they win
        view = replace(base, tail=tail, overlay=next(_overlay_ids))
        self._views[name] = view
        return view

    def pin(self, names: list[str]) -> None:
        """Take the snapshots of namespaces one statement reads first, together: a
        multi-namespace commit shows in all of them or in none."""
        fresh = {n: self._engine.namespace(n).snapshot() for n in names if n not in self._pinned}
        if len(fresh) > 1:
            self._engine.decisions.settle(fresh, lambda n: self._engine.namespace(n).snapshot())
        self._pinned.update(fresh)

    def _pin(self, name: str) -> Snapshot:
        snap = self._pinned.get(name)
        if snap is None:
            snap = self._pinned[name] = self._engine.namespace(name).snapshot()
        return snap

    def stage(self, name: str, kind: Kind, table: pa.Table) -> None:
        """Keep one statement's validated rows (upsert) or keys (delete) until COMMIT."""
        if table.num_rows == 0:
            return
        limit = self._engine.settings.max_transaction_bytes
        if self._bytes + table.nbytes > limit:
            raise ProgramLimitExceeded(
                f"transaction would stage more than {limit} bytes (max_transaction_bytes)",
                hint="commit in smaller transactions, or write outside a transaction block",
            )
        snap = self._pin(name)
        self._staged.setdefault(name, []).append(WalRecord(kind, snap.manifest.incarnation, table))
        self._order.append(name)
        self._bytes += table.nbytes
        self._views.pop(name, None)

    def forget(self, name: str) -> None:
        """Let go of `name` after a DROP or CREATE TABLE of it inside the block (those take
        effect at once, 0021): the writes staged to the old table went with it, and the
        next statement reads the new table from a fresh snapshot."""
        self._pinned.pop(name, None)
        self._views.pop(name, None)
        for record in self._staged.pop(name, []):
            self._bytes -= record.table.nbytes
        self._order = [n for n in self._order if n != name]

    def mark(self) -> int:
        """A savepoint: the number of writes staged so far."""
        return len(self._order)

    def rollback_to(self, mark: int) -> None:
        """Drop the writes staged after `mark`."""
        while len(self._order) > mark:
            name = self._order.pop()
            record = self._staged[name].pop()
            self._bytes -= record.table.nbytes
            self._views.pop(name, None)

    # -- commit ----------------------------------------------------------------------------

    def commit(self) -> None:
        """Make every staged write durable and visible at once, or none (40001)."""
        changes = {name: self._net_change(name) for name, recs in self._staged.items() if recs}
        if not changes:
            return
        if len(changes) == 1:
            [(name, parts)] = changes.items()
            self._append(name, parts, None)
            self._engine.index_written(name)
            return
        decisions = self._engine.decisions
        ref = TxnRef(uuid.uuid4().hex, tuple(sorted(changes)), time.time())
        seqs: dict[str, int] = {}
        try:
            for name in ref.participants:
                seqs[name] = self._append(name, changes[name], ref)
        except BaseException:
            if seqs:
                decisions.abort(ref)  # tagged objects exist: they must count for nothing
            raise
        if not decisions.decide(ref, seqs):
            raise SerializationFailure(
                "could not commit: the transaction was aborted while committing",
                detail=f"it stayed undecided longer than txn_timeout_seconds "
                f"({decisions.timeout_seconds} s) and a reader aborted it",
            )
        for name in ref.participants:
            self._engine.index_written(name)

    def _net_change(self, name: str) -> list[tuple[Kind, pa.Table]]:
        """The staged writes to `name` as one delete and one upsert (last write per key)."""
        writes = [(r.kind, r.table) for r in self._staged[name]]
        return net_change(self._pin(name).schema, writes)

    def _append(self, name: str, parts: list[tuple[Kind, pa.Table]], ref: TxnRef | None) -> int:
        ns = self._engine.namespace(name)
        pinned = self._pinned[name]
        keys = pa.chunked_array([t.column(pinned.schema.primary_key) for _, t in parts])
        read_back: dict[int, list[pa.Array]] = {}  # WAL objects read once, however many retries

        def no_conflict(snap: Snapshot) -> None:
            _check_conflicts(ns, pinned, snap, keys, read_back)

        while True:
            try:
                return ns.append_records(parts, no_conflict, ref)
            except _Undecided:
                ns.wait_for_pending()


def _check_conflicts(
    ns: Namespace,
    pinned: Snapshot,
    snap: Snapshot,
    keys: pa.ChunkedArray,
    read_back: dict[int, list[pa.Array]],
) -> None:
    """Refuse the commit when a write committed since `pinned` touched one of `keys`."""
    if snap.manifest.incarnation != pinned.manifest.incarnation:
        raise SerializationFailure(
            f'could not serialize access: relation "{ns.name}" was dropped or re-created '
            "by another transaction"
        )
    if any(seq > pinned.tail_seq for seq, _ in snap.pending):
        raise _Undecided
    in_tail: dict[int, list[pa.Array]] = {}
    for seq, record in snap.tail.records:
        in_tail.setdefault(seq, []).append(_keys_of(record, snap))
    left_undecided = {s for s, _ in pinned.pending}
    # Records the snapshot left out: those after it, and transactions undecided at the time.
    touched: list[pa.Array] = []
    for seq in sorted(set(range(pinned.tail_seq + 1, snap.tail_seq + 1)) | left_undecided):
        if seq in in_tail:
            touched += in_tail[seq]
        elif seq <= snap.manifest.wal_hwm or seq in left_undecided:
            if seq not in read_back:
                read_back[seq] = _committed_keys(ns, seq, snap)
            touched += read_back[seq]
        # else: read since, and not in the tail: an aborted transaction's record
    if not touched:
        return
    theirs = pa.chunked_array(touched, keys.type).combine_chunks()
    if pc.any(pc.is_in(keys, value_set=theirs)).as_py():
        raise SerializationFailure(
            "could not serialize access due to concurrent update",
            detail=f'another transaction committed a change to a row of "{ns.name}" that '
            "this transaction also writes, after this transaction's snapshot",
        )


def _keys_of(record: WalRecord, snap: Snapshot) -> pa.Array:
    column = record.table.column(snap.schema.primary_key)
    return column.combine_chunks().cast(
        snap.schema.arrow_schema.field(snap.schema.primary_key).type
    )


def _committed_keys(ns: Namespace, seq: int, snap: Snapshot) -> list[pa.Array]:
    """Keys a folded (or late-decided) WAL object wrote, read back from the WAL."""
    entry = ns.wal.read(seq)
    if entry is None:  # collected already: cannot prove there was no conflict
        raise SerializationFailure(
            "could not serialize access: the transaction's snapshot is too old",
            hint="retry the transaction",
        )
    if entry.txn is not None and not ns.decisions.wait(entry.txn):
        return []
    if entry.incarnation != snap.manifest.incarnation:
        return []
    return [_keys_of(r, snap) for r in entry.records if r.kind != "drop"]
