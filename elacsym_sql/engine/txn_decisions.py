"""Decisions of multi-namespace transactions: one small object per transaction.

A transaction that writes several namespaces appends one WAL object to each, tagged with
its id, then creates `.txn/<id>.json` saying "committed" with a conditional create: that
create is the commit point (docs/decisions/0021-transactions.md). Until the object exists
the tagged WAL objects count for nothing. A reader that finds a tagged object whose
coordinator is older than `txn_timeout_seconds` and still undecided creates the object
saying "aborted" instead; whichever create wins is the outcome, for everyone.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..layout import decision_key
from ..storage import ObjectNotFound, ObjectStore, PreconditionFailed
from ..wal import TxnRef

if TYPE_CHECKING:
    from .namespace import Snapshot

COMMITTED, ABORTED = "committed", "aborted"
_POLL_SECONDS = (0.002, 0.25)  # first and longest pause while waiting for a decision
_SETTLE_ROUNDS = 16  # each round only moves snapshots forward; commits rarely chain


class TxnDecisions:
    """Looks decisions up (each at most once when final) and makes them."""

    def __init__(self, store: ObjectStore, timeout_seconds: float) -> None:
        self.store = store
        self.timeout_seconds = timeout_seconds
        self._final: dict[str, bool] = {}  # id -> committed; decisions never change
        self._seqs: dict[str, dict[str, int]] = {}  # id -> WAL seq per namespace, committed
        self._lock = threading.Lock()

    def known(self, txid: str) -> bool | None:
        """The decision if this process has seen it, without I/O."""
        with self._lock:
            return self._final.get(txid)

    def seqs(self, txid: str) -> dict[str, int]:
        """Where a committed transaction's WAL objects are, per namespace (when known)."""
        with self._lock:
            return self._seqs.get(txid, {})

    def lookup(self, ref: TxnRef) -> bool | None:
        """True committed, False aborted, None not decided yet (and not abandoned)."""
        known = self.known(ref.id)
        if known is not None:
            return known
        decided = self._read(ref.id)
        if decided is None and time.time() - ref.started_at > self.timeout_seconds:
            decided = self._create(ref.id, ABORTED, {})  # abandoned: its coordinator is gone
        return decided

    def decide(self, ref: TxnRef, seqs: dict[str, int]) -> bool:
        """The coordinator's commit point; False when a reader aborted it first."""
        return self._create(ref.id, COMMITTED, seqs)

    def abort(self, ref: TxnRef) -> bool:
        """Abort (the coordinator gave up); True when it is aborted, False if it committed."""
        return not self._create(ref.id, ABORTED, {})

    def wait(self, ref: TxnRef) -> bool:
        """Block until `ref` is decided (at most about the timeout, then it is aborted)."""
        pause = _POLL_SECONDS[0]
        while (decided := self.lookup(ref)) is None:
            time.sleep(pause)
            pause = min(pause * 2, _POLL_SECONDS[1])
        return decided

    def _read(self, txid: str) -> bool | None:
        try:
            raw = json.loads(self.store.get(decision_key(txid)))
        except ObjectNotFound:
            return None
        return self._remember(txid, raw["state"] == COMMITTED, raw["seqs"])

    def _create(self, txid: str, state: str, seqs: dict[str, int]) -> bool:
        body = json.dumps({"state": state, "seqs": seqs, "at": time.time()}).encode()
        try:
            self.store.put_if_absent(decision_key(txid), body)
        except PreconditionFailed:
            decided = self._read(txid)
            assert decided is not None  # it exists: that is why the create failed
            return decided
        return self._remember(txid, state == COMMITTED, seqs)

    def _remember(self, txid: str, committed: bool, seqs: dict[str, int]) -> bool:
        with self._lock:
            self._final[txid] = committed
            if committed:
                self._seqs[txid] = seqs
        return committed

    def settle(
        self, snaps: dict[str, Snapshot], take: Callable[[str], Snapshot]
    ) -> dict[str, Snapshot]:
        """Snapshots of several namespaces in which every multi-namespace commit shows in
        all of its participants or in none: a namespace read before a decision, or not
        read far enough to hold a commit another one shows, is taken again with `take`."""
        for _ in range(_SETTLE_ROUNDS):
            stale = set()
            for name, snap in snaps.items():
                if any(self.known(ref.id) is not None for _, ref in snap.pending):
                    stale.add(name)
                for _, ref in snap.txns:
                    for other, seq in self.seqs(ref.id).items():
                        if other in snaps and snaps[other].tail_seq < seq:
                            stale.add(other)
            if not stale:
                break
            for name in stale:
                snaps[name] = take(name)
        return snaps
