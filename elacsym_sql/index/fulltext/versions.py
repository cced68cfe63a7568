"""Stored versions of a namespace's full-text index: immutable objects, built by `fold`.

tantivy never rewrites a file (deletes are new `<segment>.<opstamp>.del` files), so a
version is a set of immutable objects, listed in the `FtsState` the manifest records.
`open_version` brings one back as a local tantivy index (links to the cached objects).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa
import tantivy

from elacsym_sql.index.analyzer import TOKENIZER, build_analyzer
from elacsym_sql.index.fulltext.spec import FtsSpec, key_query
from elacsym_sql.index.fulltext.writes import Op, Upsert, add_documents, apply_ops, net_change
from elacsym_sql.index.scratch import ScratchDir

META = "meta.json"
FOLD_HEAP_BYTES = 128_000_000
#: A fold whose result would have more than this fraction of its documents deleted (old
#: versions tantivy still counts in BM25 statistics) rebuilds from the live rows instead
#: (docs/decisions/0012-fulltext-deleted-docs.md).
MAX_DELETED_FRACTION = 0.2


class ObjectIO(Protocol):
    """How index files reach object storage; the engine adapts its store and disk cache."""

    def fetch(self, key: str) -> str:
        """A local file holding the immutable object `key` (downloaded on a cache miss)."""
        ...

    def upload(self, key: str, path: str) -> None:
        """Store the local file `path` as the new immutable object `key`."""
        ...


@dataclass(frozen=True)
class FtsState:
    """One manifest version's full-text index: immutable objects, named as tantivy expects."""

    files: tuple[tuple[str, str], ...]  # (file name in the index directory, object key)
    version: int  # increases with every fold; a live index never moves back
    wal_hwm: int  # WAL records with seq <= wal_hwm are in this index
    docs: int  # live documents
    deleted: int  # deleted documents still in segments: they count in BM25 statistics
    bytes: int

    @property
    def object_keys(self) -> list[str]:
        return [key for _, key in self.files]

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "files": [list(f) for f in self.files]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FtsState:
        return cls(**{**data, "files": tuple(tuple(f) for f in data["files"])})


def fold(
    spec: FtsSpec,
    base: FtsState | None,
    ops: Iterable[Op],
    io: ObjectIO,
    prefix: str,
    *,
    wal_hwm: int,
    work_dir: str | None = None,
    threads: int = 1,
    live_rows: Callable[[], Iterable[pa.Table]] | None = None,
) -> FtsState:
    """Apply `ops` (in WAL order) to `base` and upload the result as a new version.

    `base=None` builds from nothing. `live_rows`, when given, yields every live row of the
    namespace once `ops` are applied (key and full_text columns); it is called only when
    more than MAX_DELETED_FRACTION of the result's documents would be deleted ones, and
    the version is then built from those rows alone, which drops the deleted documents
    from the statistics. Objects are written under `<prefix>/<build id>/`; nothing
    existing is modified, so a lost manifest race leaves only unreferenced objects for
    the garbage collector.
    """
    scratch = _build(spec, base, ops, io, work_dir, threads, net=True)
    try:
        if live_rows is not None and _too_many_deleted(read_meta(scratch.path)):
            scratch.remove()
            rebuilt = (Upsert(rows) for rows in live_rows())
            scratch = _build(spec, None, rebuilt, io, work_dir, threads, net=False)
        return _publish(scratch.path, base, io, prefix, wal_hwm)
    finally:
        scratch.remove()


def open_version(spec: FtsSpec, base: FtsState | None, io: ObjectIO, directory: str) -> Any:
    """A tantivy index in `directory`: `base`'s files linked in, or a new empty index."""
    if base is None:
        index = tantivy.Index(spec.tantivy_schema(), path=directory)
    else:
        for name, key in base.files:
            source, target = io.fetch(key), os.path.join(directory, name)
            if name == META:  # tantivy replaces it on commit: keep the cached copy pristine
                shutil.copyfile(source, target)
                continue
            try:
                os.link(source, target)  # tantivy only reads existing files
            except OSError:
                shutil.copyfile(source, target)  # another filesystem
        index = tantivy.Index.open(directory)
    index.register_tokenizer(TOKENIZER, build_analyzer(spec.options))
    index.config_reader("Manual")
    return index


def _build(
    spec: FtsSpec,
    base: FtsState | None,
    ops: Iterable[Op],
    io: ObjectIO,
    work_dir: str | None,
    threads: int,
    net: bool,
) -> ScratchDir:
    """A new scratch directory holding `base` with `ops` applied, committed and merged
    (swept by a later process if this one is killed meanwhile). `net`: as a live index
    holds them (live.py), the touched keys deleted and each one's last document added, so
    that versions superseded within `ops` never count in the statistics."""
    scratch = ScratchDir("fts-fold-", work_dir)
    try:
        index = open_version(spec, base, io, scratch.path)
        writer = index.writer(FOLD_HEAP_BYTES, threads)
        if net:
            touched, final = net_change(spec, ops)
            if touched:
                writer.delete_documents_by_query(key_query(index.schema, spec, touched))
            add_documents(writer, spec, final)
        else:
            apply_ops(writer, spec, index.schema, ops)
        writer.commit()
        writer.wait_merging_threads()  # merges expunge deleted docs; publish their result
    except BaseException:
        scratch.remove()
        raise
    return scratch


def _publish(
    directory: str, base: FtsState | None, io: ObjectIO, prefix: str, wal_hwm: int
) -> FtsState:
    """Upload the files of `directory` that `base` does not already hold; the new state."""
    build = f"{prefix}/{uuid.uuid4().hex[:16]}"
    known = dict(base.files) if base else {}
    files, size = [], 0
    meta = read_meta(directory)
    for name in [*segment_files(directory, meta), META]:
        key = known.get(name) if name != META else None
        if key is None:
            key = f"{build}/{name}"
            io.upload(key, os.path.join(directory, name))
        files.append((name, key))
        size += os.path.getsize(os.path.join(directory, name))
    docs, deleted = _doc_counts(meta)
    version = base.version + 1 if base else 0
    return FtsState(tuple(files), version, wal_hwm, docs, deleted, size)


def read_meta(directory: str) -> dict[str, Any]:
    with open(os.path.join(directory, META)) as f:
        return json.load(f)


def _doc_counts(meta: dict[str, Any]) -> tuple[int, int]:
    """(live, deleted) documents over the segments `meta` lists."""
    docs = deleted = 0
    for seg in meta["segments"]:
        gone = (seg.get("deletes") or {}).get("num_deleted_docs", 0)
        docs, deleted = docs + seg["max_doc"] - gone, deleted + gone
    return docs, deleted


def _too_many_deleted(meta: dict[str, Any]) -> bool:
    docs, deleted = _doc_counts(meta)
    return deleted > MAX_DELETED_FRACTION * (docs + deleted)


def segment_files(directory: str, meta: dict[str, Any]) -> list[str]:
    """Files of the segments `meta` lists, with each segment's current delete file only."""
    wanted: dict[str, str | None] = {}
    for seg in meta["segments"]:
        deletes = seg.get("deletes")
        wanted[seg["segment_id"].replace("-", "")] = (
            f"{deletes['opstamp']}.del" if deletes else None
        )
    out = []
    for name in sorted(os.listdir(directory)):
        seg, _, ext = name.partition(".")
        if seg in wanted and (not ext.endswith(".del") or ext == wanted[seg]):
            out.append(name)
    return out
