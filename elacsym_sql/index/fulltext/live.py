"""What a reader searches: a stored version plus the unindexed WAL tail, scored by tantivy
itself with base + tail statistics (docs/decisions/0008-full-text-design.md).

tantivy counts deleted documents in BM25 statistics until a merge drops them, and it drops
a segment once all its documents are deleted; its merges run on their own after a commit.
A tail applied write by write therefore scored differently from the same tail applied at
once by a process that just loaded the version (decision 0091). So the searched index is
a function of (version, tail) alone, however the tail arrived:

- *base*: the version's files, with one delete of every key the tail touched that the
  version holds, made from the pristine files in one commit whose merges are waited for;
- *tail*: a separate index of each touched key's last document only, built by adds (a
  write that supersedes a document already there rebuilds it), so it never holds a
  deleted document and its merges change nothing;
- the searched directory links both parts' segment files under one meta.json, opened
  read-only: nothing merges there.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import tantivy

from elacsym_sql.index.analyzer import TOKENIZER, build_analyzer
from elacsym_sql.index.fulltext.searcher import Searcher
from elacsym_sql.index.fulltext.spec import FtsSpec, Key, key_query
from elacsym_sql.index.fulltext.versions import (
    META,
    FtsState,
    ObjectIO,
    open_version,
    read_meta,
    segment_files,
)
from elacsym_sql.index.fulltext.writes import Op, add_documents, net_change
from elacsym_sql.index.scratch import ScratchDir
from elacsym_sql.index.threads import cores

LIVE_HEAP_BYTES = 16_000_000  # tantivy's floor is ~3 MB per writer thread
_PREFIX = "fts-live-"


class _Part:
    """One scratch index directory of a live index, removed with it."""

    def __init__(self, owner: object, work_dir: str | None) -> None:
        self.scratch = ScratchDir(_PREFIX, work_dir)  # swept once its process died
        # Removed with the live index too when nobody closes it (dropped, or at exit):
        # unclosed ones had left hundreds of fts-live-* directories behind.
        self._remove = weakref.finalize(owner, self.scratch.remove)
        self.index: Any = None

    @property
    def path(self) -> str:
        return self.scratch.path

    def remove(self) -> None:
        # Open searchers keep their memory-mapped files: unlinking does not affect them.
        self._remove()


class LiveIndex:
    """This process's searchable full-text index of one namespace: base version + tail.

    `view()` moves forward only: to a newer base (the remaining tail applied afresh) and
    over new tail operations. Searchers it returned stay valid after it moves on.
    """

    def __init__(self, spec: FtsSpec, io: ObjectIO, work_dir: str | None = None) -> None:
        self.spec = spec
        self.io = io
        self.work_dir = work_dir
        self._lock = threading.Lock()
        self._version = -2  # below any state (an empty base is -1)
        self._base_hwm = -1  # WAL records up to here are in the version
        self._applied = -1  # highest WAL seq applied
        self._pristine: _Part | None = None  # the version's files as stored
        self._base: _Part | None = None  # those with the tail's keys deleted (None: none)
        self._tail: _Part | None = None  # the tail's last document of each key
        self._searched: _Part | None = None
        self._in_base: set[Key] = set()  # keys the tail touched that the version holds
        self._in_tail: set[Key] = set()  # keys with a document in the tail part
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
                    self._apply(pending, [op for seq, op in tail if seq > self._base_hwm])
                    self._applied = max(seq for seq, _ in tail if seq > self._applied)
                self._searcher = Searcher(self.spec, self._assemble())
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
        self._pristine = _Part(self, self.work_dir)
        self._pristine.index = open_version(self.spec, state, self.io, self._pristine.path)
        self._version = state.version if state else -1
        self._base_hwm = self._applied = state.wal_hwm if state else -1
        self._in_base, self._in_tail = set(), set()
        self._searcher = None

    def _apply(self, ops: list[Op], whole_tail: list[Op]) -> None:
        """Bring both parts from the tail applied so far to it plus `ops` (`whole_tail`:
        every operation of the tail after the version, `ops` last)."""
        touched, final = net_change(self.spec, ops)
        held = self._held_by_version([k for k in touched if k not in self._in_base])
        if held:
            self._delete_in_base(self._in_base | held)
        if self._tail is None or self._in_tail.intersection(touched):
            _, final = net_change(self.spec, whole_tail)  # a document there is superseded
            self._build_tail(final, fresh=True)
        else:
            self._build_tail(final, fresh=False)

    def _held_by_version(self, keys: list[Key]) -> set[Key]:
        """Those of `keys` that have a document in the version."""
        assert self._pristine is not None
        index = self._pristine.index
        searcher = index.searcher()
        if not keys or searcher.num_docs == 0:
            return set()
        return {
            k
            for k in keys
            if searcher.search(key_query(index.schema, self.spec, [k]), 1, count=True).count
        }

    def _delete_in_base(self, keys: set[Key]) -> None:
        """The version's files with `keys` deleted in one commit, merges finished."""
        assert self._pristine is not None
        base = _Part(self, self.work_dir)
        _link_segments(self._pristine.path, base.path, with_meta=True)
        base.index = _open(self.spec, base.path)
        writer = base.index.writer(LIVE_HEAP_BYTES, 1)
        writer.delete_documents_by_query(key_query(base.index.schema, self.spec, sorted(keys)))
        writer.commit()
        writer.wait_merging_threads()
        if self._base is not None:
            self._base.remove()
        self._base, self._in_base = base, keys

    def _build_tail(self, final: dict[Key, list[Any]], fresh: bool) -> None:
        """Add `final`'s documents to the tail part (`fresh`: to a new, empty one)."""
        if fresh:
            if self._tail is not None:
                self._tail.remove()
            self._tail = _Part(self, self.work_dir)
            self._tail.index = open_version(self.spec, None, self.io, self._tail.path)
            self._in_tail = set()
        assert self._tail is not None
        if not final:
            return
        threads = cores()  # a bulk write indexes on every core
        writer = self._tail.index.writer(LIVE_HEAP_BYTES * threads, threads)
        try:
            self._in_tail |= add_documents(writer, self.spec, final)
            writer.commit()
        except BaseException:
            writer.rollback()  # nothing half-applied; the next view retries from scratch
            self._tail.remove()
            self._tail = None
            raise
        writer.wait_merging_threads()  # its files settled before they are linked

    def _assemble(self) -> Any:
        """A read-only index of the base part's segments and the tail part's."""
        base = self._base or self._pristine
        assert base is not None
        searched = _Part(self, self.work_dir)
        meta = read_meta(base.path)
        _link_segments(base.path, searched.path)
        if self._tail is not None:
            tail_meta = read_meta(self._tail.path)
            _link_segments(self._tail.path, searched.path)
            meta["segments"] = meta["segments"] + tail_meta["segments"]
            meta["opstamp"] = max(meta["opstamp"], tail_meta["opstamp"])
        with open(os.path.join(searched.path, META), "w") as f:
            json.dump(meta, f)
        index = _open(self.spec, searched.path)
        if self._searched is not None:
            self._searched.remove()
        self._searched = searched
        return index

    def _release(self) -> None:
        for part in (self._pristine, self._base, self._tail, self._searched):
            if part is not None:
                part.remove()
        self._pristine = self._base = self._tail = self._searched = None


def _link_segments(source: str, target: str, with_meta: bool = False) -> None:
    """Hard links in `target` to the segment files `source`'s meta.json lists."""
    names = segment_files(source, read_meta(source))
    for name in [*names, META] if with_meta else names:
        if name == META:  # a writer replaces it: a copy, so the source's stays as it is
            with open(os.path.join(source, name), "rb") as f:
                data = f.read()
            with open(os.path.join(target, name), "wb") as f:
                f.write(data)
            continue
        os.link(os.path.join(source, name), os.path.join(target, name))


def _open(spec: FtsSpec, directory: str) -> Any:
    index = tantivy.Index.open(directory)
    index.register_tokenizer(TOKENIZER, build_analyzer(spec.options))
    index.config_reader("Manual")
    return index
