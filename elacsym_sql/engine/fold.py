"""Folding the WAL tail into a new segment, and merging small segments (compaction).

Both build a new manifest version from a snapshot and commit it by conditional create; a
lost race leaves only unreferenced objects behind for the garbage collector.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from ..catalog import Manifest, ManifestStore, SegmentEntry
from ..config import Settings
from ..index import fulltext
from ..interrupts import check_interrupt
from ..layout import fts_root, segment_deletes_key
from ..segment import encode_deletes, read_live_rows
from ..segment.files import positions_of
from .namespace import Namespace, Snapshot
from .segments import SegmentFiles

Queries = Callable[[str], np.ndarray] | None


def fold(
    ns: Namespace, files: SegmentFiles, manifests: ManifestStore, queries: Queries = None
) -> bool:
    """Fold the WAL records of the current snapshot up to the first undecided transaction
    record; True when a new version was committed. `queries(column)`: recent real queries
    to calibrate the new segment's vector indexes with."""
    snap = ns.snapshot(traffic=False).foldable()
    if not snap.tail.records:
        return False
    manifest, schema = snap.manifest, snap.schema
    version = manifest.version + 1
    segments: list[SegmentEntry] = []
    for seg in manifest.segments:
        check_interrupt()  # a fold run by a statement: what it wrote so far is garbage
        keys = files.keys(ns.name, seg, schema.primary_key)
        hit = positions_of(snap.tail.keys, keys)
        if not len(hit):
            segments.append(seg)
            continue
        deleted = np.union1d(files.deletes(ns.name, seg), hit)
        if len(deleted) >= seg.rows:
            continue  # nothing of it is live any more
        # A unique suffix: a racing folder writing the same version must not overwrite ours.
        key = segment_deletes_key(ns.name, seg.id, version, uuid.uuid4().hex[:8])
        files.store.put(key, encode_deletes(deleted))
        segments.append(dataclasses.replace(seg, deleted=len(deleted), deletes_key=key))
    if snap.tail.rows.num_rows:
        segments.append(files.write(ns.name, snap.tail.rows, schema, queries))
    fts = _fold_full_text(snap, files, segments) if schema.options.full_text else None
    return commit_manifest(
        ns, manifests, manifest.next(wal_hwm=snap.tail_seq, segments=tuple(segments), fts=fts)
    )


def _fold_full_text(
    snap: Snapshot, files: SegmentFiles, segments: list[SegmentEntry]
) -> dict[str, Any]:
    """The next full-text index version: the WAL records applied in order (the order readers
    apply them in, so scores before and after the fold are identical), or, once too many of
    its documents are superseded or deleted ones, a rebuild from the live rows of `segments`
    (the folded version's), which drops them from the BM25 statistics."""
    base = snap.manifest.fts
    spec = fulltext.FtsSpec.from_schema(snap.schema)
    state = fulltext.fold(
        spec,
        fulltext.FtsState.from_json(base) if base else None,
        [op for _, op in full_text_ops(snap)],
        files,
        fts_root(snap.name),
        wal_hwm=snap.tail_seq,
        work_dir=files.work_dir,
        live_rows=lambda: _live_text_rows(snap, files, segments, spec),
    )
    return state.to_json()


def _live_text_rows(
    snap: Snapshot, files: SegmentFiles, segments: list[SegmentEntry], spec: fulltext.FtsSpec
) -> Iterator[pa.Table]:
    """The key and full_text columns of every live row, one segment at a time."""
    storage = snap.schema.arrow_schema
    text_schema = pa.schema([storage.field(c) for c in (spec.key, *spec.columns)])
    for seg in segments:
        path = files.path(snap.name, seg)
        yield read_live_rows(path, files.deletes(snap.name, seg), text_schema)


def full_text_ops(snap: Snapshot) -> list[tuple[int, fulltext.Op]]:
    """The tail's WAL records as full-text operations, with their sequence numbers."""
    key = snap.schema.primary_key
    return [
        (
            seq,
            fulltext.Upsert(r.table)
            if r.kind == "upsert"
            else fulltext.Delete(r.table.column(key)),
        )
        for seq, r in snap.tail.records
    ]


def compact(
    ns: Namespace,
    files: SegmentFiles,
    manifests: ManifestStore,
    settings: Settings,
    force: bool = False,
    queries: Queries = None,
) -> bool:
    """Merge small or delete-heavy segments into one; True when a new version was committed."""
    manifest = ns.snapshot(traffic=False).manifest
    schema = manifest.schema
    small = mergeable(manifest, settings, force)
    if not small:
        return False
    parts = [
        read_live_rows(files.path(ns.name, s), files.deletes(ns.name, s), schema.arrow_schema)
        for s in small
    ]
    merged = pa.concat_tables(parts) if parts else schema.arrow_schema.empty_table()
    merged_ids = {s.id for s in small}
    segments = [s for s in manifest.segments if s.id not in merged_ids]
    if merged.num_rows:
        segments.append(files.write(ns.name, merged, schema, queries))
    return commit_manifest(ns, manifests, manifest.next(segments=tuple(segments)))


def mergeable(manifest: Manifest, settings: Settings, force: bool = False) -> list[SegmentEntry]:
    """The small or delete-heavy segments a compaction of `manifest` would merge; none when
    there are too few to be worth it (with `force`: any two, or one with deleted rows)."""
    small = [
        s
        for s in manifest.segments
        if s.live_rows < settings.small_segment_rows or s.deleted > s.rows // 4
    ]
    enough = len(small) >= settings.compact_min_segments
    if not enough and not (force and (len(small) > 1 or any(s.deleted for s in small))):
        return []
    return small


def commit_manifest(ns: Namespace, manifests: ManifestStore, manifest: Manifest) -> bool:
    check_interrupt()  # the last point where stopping leaves only unreferenced objects
    committed = manifests.commit(manifest)
    if committed is None:
        ns.reload_manifest()  # build the next attempt on the version that won
        return False
    ns.adopt_committed(committed)
    return True
