"""What a reader searches: a stored version plus the unindexed WAL tail, applied locally.

The tail goes into a private scratch copy of the version (hard links to the cached files),
so tail rows are scored by tantivy itself with base + tail statistics, exactly as once
folded with the same operations (docs/decisions/0008-full-text-design.md).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

from elacsym_sql.index.fulltext.searcher import Searcher
from elacsym_sql.index.fulltext.spec import FtsSpec
from elacsym_sql.index.fulltext.versions import FtsState, ObjectIO, open_version
from elacsym_sql.index.fulltext.writes import Op, apply_ops
from elacsym_sql.index.scratch import ScratchDir
from elacsym_sql.index.threads import cores

LIVE_HEAP_BYTES = 16_000_000  # tantivy's floor is ~3 MB per writer thread


class LiveIndex:
    """This process's searchable full-text index of one namespace: base version + tail.

    `view()` moves forward only: to a newer base (a fresh scratch directory, the remaining
    tail re-applied) and over new tail operations (one local commit, ~4 ms on tmpfs and
    ~9 ms on disk here). Searchers it returned stay valid after it moves on.
    """

    def __init__(self, spec: FtsSpec, io: ObjectIO, work_dir: str | None = None) -> None:
        self.spec = spec
        self.io = io
        self.work_dir = work_dir
        self._lock = threading.Lock()
        self._state: FtsState | None = None
        self._version = -2  # below any state (an empty base is -1)
        self._applied = -1  # highest WAL seq applied
        self._remove: weakref.finalize | None = None  # removes the scratch directory
        self._index: Any = None
        self._writer: Any = None
        self._searcher: Searcher | None = None

    def view(self, state: FtsState | None, tail: Sequence[tuple[int, Op]] = ()) -> Searcher:
        """A searcher over `state` plus the tail operations `(seq, op)` after its WAL mark."""
        with self._lock:
            version = state.version if state else -1
            if version > self._version:
                self._switch(state)
            pending = [op for seq, op in tail if seq > self._applied]
            if pending or self._searcher is None:
                if pending:
                    if self._writer is None:  # a bulk write indexes on every core
                        threads = cores()
                        self._writer = self._index.writer(LIVE_HEAP_BYTES * threads, threads)
                    try:
                        apply_ops(self._writer, self.spec, self._index.schema, pending)
                        self._writer.commit()
                    except BaseException:
                        self._writer.rollback()  # nothing half-applied; the next view retries
                        raise
                    self._applied = max(seq for seq, _ in tail if seq > self._applied)
                self._index.reload()
                self._searcher = Searcher(self.spec, self._index)
            return self._searcher

    @property
    def applied(self) -> int:
        """The highest WAL sequence number this index includes (-1: none)."""
        return self._applied

    def close(self) -> None:
        with self._lock:
            self._release()
            self._version, self._searcher = -2, None

    def _switch(self, state: FtsState | None) -> None:
        self._release()
        scratch = ScratchDir("fts-live-", self.work_dir)  # swept once its process died
        # Removed with this object too when nobody closes it (dropped, or at exit): unclosed
        # ones had left hundreds of fts-live-* directories behind in the temp directory.
        self._remove = weakref.finalize(self, scratch.remove)
        self._index = open_version(self.spec, state, self.io, scratch.path)
        self._state, self._version = state, state.version if state else -1
        self._applied = state.wal_hwm if state else -1
        self._searcher = None

    def _release(self) -> None:
        if self._writer is not None:
            self._writer.wait_merging_threads()
            self._writer = None
        if self._remove is not None:
            # Open searchers keep their memory-mapped files: unlinking does not affect them.
            self._remove()
            self._remove = None
