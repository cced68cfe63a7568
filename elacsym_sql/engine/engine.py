"""The engine: every namespace under one storage root, plus the background indexer."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..catalog import (
    Manifest,
    ManifestStore,
    SchemaStore,
    TypeStore,
    ViewStore,
    namespace_marker_key,
)
from ..config import Settings
from ..errors import DuplicateTable, SerializationFailure, UndefinedTable
from ..index.threads import limit_blas_threads
from ..layout import NAMESPACE_MARKERS
from ..metrics import MAINTENANCE, UNINDEXED
from ..schema import Schema, check_name
from ..segment.files import positions_of
from ..storage import DiskCache, open_store
from ..wal import wal_key
from .background import Background
from .dirty_marks import DirtyMarks
from .fold import compact, fold
from .gc import collect_garbage
from .indexer import Indexer
from .memory_cache import MemoryCache
from .namespace import Namespace, Snapshot
from .recalibrate import recalibrate
from .recent_queries import RecentQueries
from .references import References
from .search import FullTextIndexes
from .segments import SegmentFiles
from .sequences import Sequences
from .transaction import Transaction
from .txn_decisions import TxnDecisions

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = open_store(settings)
        self.cache = DiskCache(settings.cache_dir, settings.cache_bytes)
        self.manifests = ManifestStore(self.store)
        self.files = SegmentFiles(self.store, self.cache, MemoryCache(settings.memory_cache_bytes))
        self.full_text = FullTextIndexes(self.files)
        self.recent_queries = RecentQueries()
        limit_blas_threads(1)  # exact search runs its own threads (index/threads.py)
        self.decisions = TxnDecisions(self.store, settings.txn_timeout_seconds)
        self.sequences = Sequences(self.store)
        self.references = References(self.store)
        self.types = TypeStore(self.store)  # CREATE TYPE ... AS ENUM
        self.schemas = SchemaStore(self.store)  # CREATE SCHEMA
        self.views = ViewStore(self.store)  # CREATE VIEW (decision 0091)
        self._namespaces: dict[str, Namespace] = {}
        self._lock = threading.Lock()
        # Whether this node folds, compacts and collects a namespace (cluster/ says: only
        # its owner does); maintenance others asked for, for the indexer's next tick.
        self._owns: Callable[[str], bool] = lambda name: True
        self._member = False  # set_ownership was called: a cluster member
        self._requested: set[str] = set()
        self.dirty = DirtyMarks(self.store, settings.dirty_mark_seconds)
        self.background = Background(self)
        self._indexer: Indexer | None = None
        if settings.indexer:
            period = min(0.5, settings.fold_interval_seconds / 2)
            self._indexer = Indexer(self._maintain_all, period)
            self._indexer.start()
        UNINDEXED.watch(self.unindexed_rows)

    def namespace(self, name: str) -> Namespace:
        """The handle of `name` (which need not exist; `snapshot()` tells)."""
        check_name(name, "namespace")
        with self._lock:
            ns = self._namespaces.get(name)
            if ns is None:
                ns = self._namespaces[name] = Namespace(
                    name, self.store, self.settings, self.decisions, self._mark_unowned
                )
            return ns

    def begin(self) -> Transaction:
        """A transaction block (transaction.py): snapshot reads, staged writes."""
        return Transaction(self)

    # -- DDL -------------------------------------------------------------------------------

    def create(self, schema: Schema, if_not_exists: bool = False) -> bool:
        """Create a namespace; False when it exists and `if_not_exists`."""
        name = schema.name
        marker = namespace_marker_key(name)
        ns = self.namespace(name)
        for _ in range(self.settings.write_retries):
            if ns.exists():  # strong: a DROP in the WAL counts even before its manifest
                if if_not_exists:
                    self.store.put(marker, b"")  # repairs a CREATE that died before it
                    return False
                raise DuplicateTable(f'relation "{name}" already exists')
            latest = self.manifests.load_latest(name)
            hwm = latest.wal_hwm if latest else 0
            while self.store.exists(wal_key(name, hwm + 1)):
                hwm += 1  # the DROP record and writes that raced it: the old incarnation's
            manifest = Manifest(
                version=latest.version + 1 if latest else 1,
                schema=schema,
                incarnation=uuid.uuid4().hex,
                wal_hwm=hwm,
            )
            # The marker goes first, so every committed namespace is listed; a marker whose
            # commit never happened is filtered out by list_namespaces().
            self.store.put(marker, b"")
            if self.manifests.commit(manifest) is not None:
                return True
        raise SerializationFailure(f"could not create {name}: lost too many races")

    def drop(self, name: str, if_exists: bool = False) -> bool:
        """Drop a namespace; its objects are collected after the grace period."""
        ns = self.namespace(name)
        if not ns.exists():
            self._seal_drop(name)  # finishes a DROP that died after its WAL record
            if if_exists:
                return False
            raise UndefinedTable(f'relation "{name}" does not exist')
        ns.append_drop()  # the commit point: strong readers see the drop from here
        self._seal_drop(name)
        return True

    def _seal_drop(self, name: str) -> None:
        """Commit the `dropped` manifest for a DROP record and unlist the namespace."""
        seen = self.namespace(name).drop_record
        if seen is None:
            return
        incarnation, seq = seen
        for _ in range(self.settings.write_retries):
            latest = self.manifests.load_latest(name)
            if latest is None or latest.incarnation != incarnation:
                return  # created again since: its marker is not ours to delete
            if latest.dropped:
                break
            sealed = latest.next(dropped=True, wal_hwm=max(seq, latest.wal_hwm), segments=())
            if self.manifests.commit(sealed) is not None:
                break
        self.store.delete(namespace_marker_key(name))

    def change_schema(self, name: str, change: Callable[[Snapshot], Schema]) -> Schema:
        """Commit a manifest version with `change(snapshot)` as the namespace's schema (it may
        raise to refuse); returns the schema committed. Writers of this process wait (the
        write lock) and then see it; a lost race with a fold runs `change` again."""
        ns = self.namespace(name)
        with ns.write_lock:
            for _ in range(self.settings.write_retries):
                snap = ns.snapshot()
                schema = change(snap)
                committed = self.manifests.commit(snap.manifest.next(schema=schema))
                if committed is not None:
                    ns.adopt_committed(committed)
                    return schema
                ns.reload_manifest()
        raise SerializationFailure(f"could not change {name}: lost too many races")

    def list_namespaces(self) -> list[str]:
        # Listing is not using them: no traffic, so no looks follow (decision 0060).
        return [n for n in self.listed_namespaces() if self.namespace(n).exists(traffic=False)]

    def listed_namespaces(self) -> list[str]:
        """The namespaces the root lists (one LIST), without reading each: a CREATE that
        died before its commit may be among them."""
        return [o.key[len(NAMESPACE_MARKERS) :] for o in self.store.list(NAMESPACE_MARKERS)]

    # -- maintenance -----------------------------------------------------------------------

    def fold(self, name: str) -> bool:
        with MAINTENANCE.labels("fold").time():
            done = fold(self.namespace(name), self.files, self.manifests, self._queries(name))
        self.background.folded(name)
        if done:
            self.background.committed(name)
        return done

    def compact(self, name: str, force: bool = False) -> bool:
        with MAINTENANCE.labels("compact").time():
            ns = self.namespace(name)
            queries = self._queries(name)
            done = compact(ns, self.files, self.manifests, self.settings, force, queries)
        if done:
            self.background.committed(name)
        return done

    def recalibrate(self, name: str) -> bool:
        """Re-measure the recall curves of `name`'s indexed segments on its recent real
        queries (recalibrate.py); True when a new version was committed."""
        with MAINTENANCE.labels("recalibrate").time():
            ns = self.namespace(name)
            return recalibrate(ns, self.files, self.manifests, self._queries(name))

    def _queries(self, name: str) -> Callable[[str], np.ndarray]:
        """Recent real queries of a namespace's vector column, for calibrating its indexes."""
        recent = self.recent_queries
        return lambda column: recent.latest(name, column)

    def collect_garbage(self, name: str, now: float | None = None) -> int:
        self.background.collected(name)
        return collect_garbage(self.store, name, self.settings.gc_grace_seconds, now)

    def set_ownership(self, owns: Callable[[str], bool]) -> None:
        """Fold, compact and collect only the namespaces `owns` accepts (a cluster member's
        own); the others are their owners' to maintain, and appends to them leave a dirty
        marker. Without it (an embedded process) every append does: a cluster may share
        the root."""
        self._owns, self._member = owns, True

    def _mark_unowned(self, name: str) -> bool:
        """Before an append to `name`: leave a dirty marker unless this process is its
        cluster owner (dirty_marks.py); whether it is not."""
        if self._member and self._owns(name):
            return False
        self.dirty.mark(name)
        return True

    def hand_over(self) -> None:
        """After ownership changed: mark the namespaces this process no longer owns whose
        tail, as last read here, holds writes (possibly its own, appended as the owner
        after the new owner's first look). No request for the others."""
        with self._lock:
            handles = list(self._namespaces.values())
        for ns in handles:
            snap = ns.cached()
            if ns.written and snap is not None and snap.tail.records and not self._owns(ns.name):
                self.dirty.mark(ns.name)

    def request_maintenance(self, names: Iterable[str]) -> None:
        """Have the indexer look at these namespaces once, written here or not (an owner
        taking over, or catching up with writes other processes made)."""
        with self._lock:
            self._requested.update(names)

    def _maintain_all(self) -> None:
        with self._lock:
            names = list(self._namespaces)
            requested, self._requested = self._requested, set()
        self.background.tick(names, requested)

    def owns(self, name: str) -> bool:
        """Whether this node folds, compacts and collects `name` (set_ownership)."""
        return self._owns(name)

    def index_written(self, name: str, *, cached: bool = False) -> None:
        """Apply what was just written to this process's live full-text index before the
        write returns, so the first text search after it does not index it (decision 0065).
        `cached`: the write is one WAL object this process appended, so the state it holds
        has it: no request."""
        try:
            ns = self.namespace(name)
            snap = ns.recent() if cached else ns.snapshot()
            if snap.schema.options.full_text:
                self.full_text.searcher(snap)
        except Exception:  # the write is durable; the next text search indexes it
            log.exception("indexing the write to %s for text search failed", name)

    # -- introspection ---------------------------------------------------------------------

    def stats(self, name: str) -> dict[str, Any]:
        ns = self.namespace(name)
        snap = ns.snapshot()
        segs = snap.manifest.segments
        return {
            "namespace": name,
            "rows": self._live_rows(snap),
            "manifest_version": snap.manifest.version,
            "segments": len(segs),
            "segment_rows": sum(s.live_rows for s in segs),
            "segment_bytes": sum(s.bytes for s in segs),
            "index_bytes": sum(s.index_bytes for s in segs),
            "unindexed_rows": snap.tail.pending_rows,
            "wal_records": len(snap.tail.records),
            "cache_hits": self.cache.hits,
            "cache_misses": self.cache.misses,
            "storage_requests": dict(self.store.request_counts),
            "namespace_requests": dict(self.store.requests_of(name)),
            "wal_batches": ns.group.batches,
            "batched_writes": ns.group.statements,
        }

    def unindexed_rows(self) -> dict[str, int]:
        """Unindexed rows of each namespace this process has read, as last read (for
        /metrics: no storage request)."""
        with self._lock:
            handles = list(self._namespaces.values())
        return {ns.name: rows for ns in handles if (rows := ns.unindexed_rows) is not None}

    def _live_rows(self, snap: Snapshot) -> int:
        """Rows the namespace shows: segment rows not deleted nor superseded, plus the tail's."""
        live = snap.tail.rows.num_rows
        for seg in snap.manifest.segments:
            keys = self.files.keys(snap.name, seg, snap.schema.primary_key)
            hidden = np.setdiff1d(
                positions_of(snap.tail.keys, keys), self.files.deletes(snap.name, seg)
            )
            live += seg.live_rows - len(hidden)
        return live

    def close(self) -> None:
        if self._indexer is not None:
            self._indexer.stop()
        self.full_text.close()
        self.store.close()
