"""Full-text search: one tantivy index per namespace, immutable files, namespace-wide BM25.

tantivy computes BM25 statistics over all segments of one index, so a document's score
does not depend on how rows were split into folds (docs/decisions/0008-full-text-design.md).

- `fold(spec, base, ops, io, prefix, wal_hwm=)`: the indexer's step. Links the base
  version's cached files into a scratch directory, applies upserts (delete the key, add the
  document) and deletes, commits, waits for tantivy's merges, uploads the new files. tantivy
  never rewrites a file (deletes are new `<segment>.<opstamp>.del` files), so a version is
  a set of immutable objects, listed in the `FtsState` the manifest records.
- `LiveIndex.view(state, tail)`: what a reader searches: those files plus the unindexed WAL
  tail applied to a private scratch copy, so tail rows are scored by tantivy itself with
  base + tail statistics, exactly as once folded with the same operations.
- `Searcher.search(text, k, mode=, columns=, allowed=)` -> `[Hit(key, score)]`, best first,
  ties by key; `Searcher.snippets(...)` -> highlighted fragments.

Fields: `__key` (i64; for TEXT/UUID keys one raw term, a SHA-256 above 256 bytes since
tantivy truncates long terms) and `__key_value` (TEXT/UUID key, stored); one text field per
full_text column; `__all` (all of them, the default field) when there are two or more.
Rows whose full_text columns are all NULL are not indexed. Imports only errors and schema.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import pyarrow as pa
import tantivy

from elacsym_sql.errors import InvalidParameterValue, UndefinedColumn
from elacsym_sql.index.analyzer import (
    TOKENIZER,
    ColumnWeight,
    build_analyzer,
    build_query,
    check_options,
    check_query,
    leading_text,
    parse_columns,
)
from elacsym_sql.schema import Options, Schema

KEY = "__key"
KEY_VALUE = "__key_value"
MAX_KEY_TERM_BYTES = 256
ALL = "__all"
META = "meta.json"
FOLD_HEAP_BYTES = 128_000_000
LIVE_HEAP_BYTES = 16_000_000  # tantivy's floor is ~3 MB per writer thread
#: A filter of n allowed keys runs inside tantivy (a term set intersected with the query,
#: cost ~ n) when n^2 <= ALLOWED_IN_INDEX * k * docs; otherwise hits are over-fetched and
#: filtered here (cost ~ k * docs / n). Crossover measured at n ~ 100 for k=10 on 5k docs.
ALLOWED_IN_INDEX = 0.2

Key = int | str


class Hit(NamedTuple):
    key: Key
    score: float


@dataclass(frozen=True)
class Upsert:
    """Rows written: the key column and the full_text columns (other columns are ignored)."""

    rows: pa.Table


@dataclass(frozen=True)
class Delete:
    keys: pa.Array | Sequence[Key]


Op = Upsert | Delete


class ObjectIO(Protocol):
    """How index files reach object storage; the engine adapts its store and disk cache."""

    def fetch(self, key: str) -> str:
        """A local file holding the immutable object `key` (downloaded on a cache miss)."""
        ...

    def upload(self, key: str, path: str) -> None:
        """Store the local file `path` as the new immutable object `key`."""
        ...


@dataclass(frozen=True)
class FtsSpec:
    """What the index of one namespace looks like; derived from its schema."""

    key: str
    key_is_int: bool
    columns: tuple[str, ...]
    options: Options

    @classmethod
    def from_schema(cls, schema: Schema) -> FtsSpec:
        check_options(schema.options)
        if not schema.options.full_text:
            raise InvalidParameterValue(f"namespace {schema.name!r} has no full_text columns")
        key_type = schema.column(schema.primary_key).type
        return cls(
            schema.primary_key, key_type == "BIGINT", schema.options.full_text, schema.options
        )

    @property
    def default_fields(self) -> tuple[str, ...]:
        return (ALL,) if len(self.columns) > 1 else self.columns

    def tantivy_schema(self) -> tantivy.Schema:
        sb = tantivy.SchemaBuilder()
        if self.key_is_int:
            sb.add_integer_field(KEY, indexed=True, fast=True)
        else:
            sb.add_text_field(KEY, tokenizer_name="raw", index_option="basic")
            sb.add_bytes_field(KEY_VALUE, stored=True)
        for name in self.columns + ((ALL,) if len(self.columns) > 1 else ()):
            sb.add_text_field(name, tokenizer_name=TOKENIZER, index_option="position")
        return sb.build()


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


# -- writing -------------------------------------------------------------------------------


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
) -> FtsState:
    """Apply `ops` (in WAL order) to `base` and upload the result as a new version.

    `base=None` builds from nothing: compaction can rebuild from the live rows this way,
    which drops the deleted documents from the statistics. Objects are written under
    `<prefix>/<build id>/`; nothing existing is modified, so a lost manifest race leaves
    only unreferenced objects for the garbage collector.
    """
    directory = tempfile.mkdtemp(prefix="fts-fold-", dir=work_dir)
    try:
        index = _open_dir(spec, base, io, directory)
        writer = index.writer(FOLD_HEAP_BYTES, threads)
        _apply(writer, spec, index.schema, ops)
        writer.commit()
        writer.wait_merging_threads()  # merges expunge deleted docs; publish their result
        build = f"{prefix}/{uuid.uuid4().hex[:16]}"
        known = dict(base.files) if base else {}
        files, docs, deleted, size = [], 0, 0, 0
        meta = _read_meta(directory)
        for name in [*_segment_files(directory, meta), META]:
            key = known.get(name) if name != META else None
            if key is None:
                key = f"{build}/{name}"
                io.upload(key, os.path.join(directory, name))
            files.append((name, key))
            size += os.path.getsize(os.path.join(directory, name))
        for seg in meta["segments"]:
            gone = (seg.get("deletes") or {}).get("num_deleted_docs", 0)
            docs, deleted = docs + seg["max_doc"] - gone, deleted + gone
        version = base.version + 1 if base else 0
        return FtsState(tuple(files), version, wal_hwm, docs, deleted, size)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _open_dir(spec: FtsSpec, base: FtsState | None, io: ObjectIO, directory: str) -> Any:
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


def _read_meta(directory: str) -> dict[str, Any]:
    with open(os.path.join(directory, META)) as f:
        return json.load(f)


def _segment_files(directory: str, meta: dict[str, Any]) -> list[str]:
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


def _apply(writer: Any, spec: FtsSpec, schema: tantivy.Schema, ops: Iterable[Op]) -> None:
    """Upsert = delete the keys, then add the new documents (tantivy orders by opstamp)."""
    for op in ops:
        if isinstance(op, Delete):
            keys = _as_keys(op.keys, spec)
            if keys:
                writer.delete_documents_by_query(_key_query(schema, spec, keys))
            continue
        rows = op.rows
        keys = _as_keys(rows.column(spec.key), spec)
        if not keys:
            continue
        writer.delete_documents_by_query(_key_query(schema, spec, keys))
        last = {k: i for i, k in enumerate(keys)}  # a key twice in one op: the last wins
        values = [
            rows.column(c).to_pylist() if c in rows.column_names else None for c in spec.columns
        ]
        all_field = len(spec.columns) > 1
        for i, key in enumerate(keys):
            if last[key] != i:
                continue
            doc = tantivy.Document()
            has_text = False
            for column, column_values in zip(spec.columns, values, strict=True):
                value = column_values[i] if column_values is not None else None
                for text in value if isinstance(value, list) else (value,):
                    if text is None:
                        continue
                    has_text = True
                    doc.add_text(column, text)
                    if all_field:
                        doc.add_text(ALL, text)
            if has_text:
                if isinstance(key, int):
                    doc.add_integer(KEY, key)
                else:
                    doc.add_text(KEY, _key_term(key))
                    doc.add_bytes(KEY_VALUE, key.encode())
                writer.add_document(doc)


def _as_keys(keys: Any, spec: FtsSpec) -> list[Key]:
    if isinstance(keys, pa.ChunkedArray | pa.Array):
        keys = keys.to_pylist()
    out = [k for k in keys if k is not None]
    return [int(k) for k in out] if spec.key_is_int else [str(k) for k in out]


def _key_set(keys: Iterable[Key], spec: FtsSpec) -> set[Key] | frozenset[Key]:
    """Allowed keys as a set; a set the caller built is used as it is (no copy per query)."""
    if isinstance(keys, set | frozenset):
        return keys
    if hasattr(keys, "tolist"):  # numpy and Arrow arrays: one conversion, not one per key
        keys = keys.tolist() if not isinstance(keys, pa.ChunkedArray | pa.Array) else keys
    return set(_as_keys(keys, spec))


def _key_term(key: str) -> str:
    """The indexed term of a TEXT/UUID key: itself, or a digest no short key can equal."""
    short = len(key) <= MAX_KEY_TERM_BYTES // 4 or len(key.encode()) <= MAX_KEY_TERM_BYTES
    if short and not key.startswith("\x00"):
        return key
    return "\x00sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _key_query(schema: tantivy.Schema, spec: FtsSpec, keys: list[Key]) -> Any:
    terms = keys if spec.key_is_int else [_key_term(k) for k in keys]  # type: ignore[arg-type]
    return tantivy.Query.term_set_query(schema, KEY, terms)


# -- reading -------------------------------------------------------------------------------


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
        self._directory: str | None = None
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
                    if self._writer is None:
                        self._writer = self._index.writer(LIVE_HEAP_BYTES, 1)
                    try:
                        _apply(self._writer, self.spec, self._index.schema, pending)
                        self._writer.commit()
                    except BaseException:
                        self._writer.rollback()  # nothing half-applied; the next view retries
                        raise
                    self._applied = max(seq for seq, _ in tail if seq > self._applied)
                self._index.reload()
                self._searcher = Searcher(self.spec, self._index)
            return self._searcher

    def close(self) -> None:
        with self._lock:
            self._release()
            self._version, self._searcher = -2, None

    def _switch(self, state: FtsState | None) -> None:
        self._release()
        self._directory = tempfile.mkdtemp(prefix="fts-live-", dir=self.work_dir)
        self._index = _open_dir(self.spec, state, self.io, self._directory)
        self._state, self._version = state, state.version if state else -1
        self._applied = state.wal_hwm if state else -1
        self._searcher = None

    def _release(self) -> None:
        if self._writer is not None:
            self._writer.wait_merging_threads()
            self._writer = None
        if self._directory:
            # Open searchers keep their memory-mapped files: unlinking does not affect them.
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None


class Searcher:
    """One consistent snapshot of a namespace's full-text index."""

    def __init__(self, spec: FtsSpec, index: Any) -> None:
        self.spec = spec
        self._index = index  # keeps the memory-mapped files alive
        self._schema = index.schema
        self._searcher = index.searcher()
        self._analyzer = build_analyzer(spec.options)

    @property
    def num_docs(self) -> int:
        return self._searcher.num_docs

    def search(
        self,
        text: str,
        k: int,
        *,
        mode: str = "or",
        columns: str | None = None,
        allowed: Iterable[Key] | None = None,
    ) -> list[Hit]:
        """Top `k` (key, BM25 score), best first, ties by key; only `allowed` keys if given."""
        if not isinstance(k, int) or k <= 0:
            raise InvalidParameterValue(f"k must be a positive integer, not {k!r}")
        fields = parse_columns(columns, self.spec.columns) or [
            ColumnWeight(f, 1.0) for f in self.spec.default_fields
        ]
        query = build_query(self._index, self._analyzer, check_query(text, mode), mode, fields)
        if query is None:
            return []
        if allowed is None:
            return self._top(query, k, None)
        allowed_set = _key_set(allowed, self.spec)
        if not allowed_set:
            return []
        docs = max(1, self._searcher.num_docs)
        if len(allowed_set) ** 2 <= ALLOWED_IN_INDEX * k * docs:
            only = _key_query(self._schema, self.spec, list(allowed_set))
            query = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, query),
                    (tantivy.Occur.Must, tantivy.Query.const_score_query(only, 0.0)),
                ]
            )
            return self._top(query, k, None)
        fraction = min(1.0, len(allowed_set) / docs)
        return self._top(query, k, allowed_set, first=int(2 * k / fraction) + 16)

    def snippets(
        self,
        text: str,
        docs: Sequence[str | Sequence[str] | None],
        column: str,
        *,
        mode: str = "or",
        max_chars: int = 150,
    ) -> list[str | None]:
        """The best fragment of each of `docs` (values of `column`) as HTML, matches in <b>.

        A document without a match gives its beginning; NULL gives None.
        """
        if column not in self.spec.columns:
            raise UndefinedColumn(f"column {column!r} is not a full-text column")
        query = build_query(
            self._index, self._analyzer, check_query(text, mode), mode, [ColumnWeight(column, 1.0)]
        )
        generator = None
        if query is not None:
            generator = tantivy.SnippetGenerator.create(self._searcher, query, self._schema, column)
            generator.set_max_num_chars(max_chars)
        out: list[str | None] = []
        for value in docs:
            if value is None:
                out.append(None)
                continue
            values = [value] if isinstance(value, str) else [v for v in value if v is not None]
            html = ""
            if generator is not None:
                doc = tantivy.Document()
                for v in values:
                    doc.add_text(column, v)
                html = generator.snippet_from_doc(doc).to_html()
            out.append(html or leading_text(" ".join(values), max_chars))
        return out

    # -- internals --------------------------------------------------------------------------

    def _top(self, query: Any, k: int, accept: Any = None, first: int = 0) -> list[Hit]:
        """Fetch until the k-th hit is certain: k qualifying hits scoring above every
        unseen document, so that ties at the cut are broken by key, never by layout."""
        limit = max(first, k + 1)
        while True:
            hits = self._searcher.search(query, limit, count=False).hits
            keys = self._keys([address for _, address in hits])
            found = [
                Hit(key, score)
                for (score, _), key in zip(hits, keys, strict=True)
                if accept is None or key in accept
            ]
            if len(hits) < limit:
                break  # every match seen
            floor = hits[-1][0]
            if sum(1 for h in found if h.score > floor) >= k:
                break
            limit *= 4
        found.sort(key=lambda h: (-h.score, h.key))
        return found[:k]

    def _keys(self, addresses: list[Any]) -> list[Key]:
        if self.spec.key_is_int:
            return self._searcher.fast_field_values(KEY, addresses)
        return [self._searcher.doc(a).get_first(KEY_VALUE).decode() for a in addresses]
