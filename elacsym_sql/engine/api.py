"""The engine API: what every front door (SQL, the HTTP/JSON API, the command line) needs,
with no DuckDB in the way. Arguments are checked here, once, each mistake with one message
and SQLSTATE (errors.py).

    api = EngineApi(engine)
    api.create_namespace(schema)
    api.upsert("docs", [{"id": 1, "title": "a", "embedding": [0.1, 0.2]}])
    found = api.vector_search("docs", [0.1, 0.2], 10, filter={"field": "year", ...})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import (
    DatatypeMismatch,
    DependentObjectsStillExist,
    DuplicateTable,
    InvalidParameterValue,
    InvalidVector,
    UndefinedTable,
)
from ..index.analyzer import check_options
from ..schema import Column, Schema, check_recall_target
from . import writes
from .engine import Engine
from .filters import Filter, KeyFilter, canonical, check_filter, filter_keys, parse_filter
from .fusion import Fusion, default_window, fuse
from .namespace import Snapshot
from .search import SearchResult, text_search
from .search_spec import DEFAULT_MODE, MAX_K
from .sequences import rowid_sequence
from .vector_search import measure_recall, stored_queries, vector_column, vector_search

FilterArg = Filter | Mapping[str, Any] | KeyFilter | None


@dataclass(frozen=True)
class Description:
    schema: Schema
    stats: dict[str, Any]


@dataclass(frozen=True)
class Recall:
    column: str  # the vector column measured
    queries: int  # stored vectors used as queries
    recall_at_10: float | None  # on them; None: no vectors to measure
    recent_queries: int = 0  # recent real queries of this process (recent_queries.py)
    recent_recall_at_10: float | None = None  # on them; None: none seen yet


def check_k(k: object, name: str = "k") -> int:
    """A result count: an integer from 1 to MAX_K."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_K:
        shown = "NULL" if k is None else repr(k)
        raise InvalidParameterValue(f"{name} must be an integer from 1 to {MAX_K}, not {shown}")
    return int(k)


_NUMBERS = {int, float}


def query_matrix(vectors: object, column: Column) -> np.ndarray:
    """Query vectors as a (n, dim) float32 matrix of finite numbers: one vector, a list of
    them (SQL's batches, where one may be NULL) or a matrix, checked against `column`."""
    if vectors is None:
        raise InvalidParameterValue("the query vector is NULL")
    if isinstance(vectors, np.ndarray):  # one vector or a matrix: one dtype, one width
        _check_query(vectors.ndim in (1, 2) and vectors.dtype.kind in "fiu", vectors, column)
        matrix = vectors.reshape(1, -1) if vectors.ndim == 1 else vectors
    else:
        first = next((v for v in vectors if v is not None), None)  # type: ignore[attr-defined]
        rows = vectors if isinstance(first, list | tuple | np.ndarray) else [vectors]
        for row in rows:
            if row is None:
                raise InvalidParameterValue("the query vector is NULL")
            _check_query(_numbers(row), row, column)
        matrix = np.asarray(rows)
    matrix = matrix.astype(np.float32, copy=False)
    if not np.isfinite(matrix).all():
        raise InvalidVector("query vector contains NaN or infinity")
    return matrix


def _numbers(row: object) -> bool:
    if isinstance(row, np.ndarray):
        return row.ndim == 1 and row.dtype.kind in "fiu"
    # set(map(type, ...)) runs in C: a 1,536-number list is checked in microseconds
    return isinstance(row, list | tuple) and (
        set(map(type, row)) <= _NUMBERS
        or all(isinstance(x, int | float | np.number) and not isinstance(x, bool) for x in row)
    )


def _check_query(numbers: bool, row: Any, column: Column) -> None:
    if not numbers:
        raise DatatypeMismatch("the query vector must be a list of numbers")
    width = row.shape[-1] if isinstance(row, np.ndarray) else len(row)
    if width != column.dim:
        raise InvalidVector(
            f'expected {column.dim} dimensions, not {width}, for column "{column.name}"'
        )


class EngineApi:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- namespaces ------------------------------------------------------------------------

    def create_namespace(self, schema: Schema, if_not_exists: bool = False) -> bool:
        """Create a namespace; False when it exists and `if_not_exists`. Everything is
        checked before anything is written."""
        check_options(schema.options)
        for other in self.engine.list_namespaces():
            if other.lower() == schema.name.lower() and other != schema.name:
                raise DuplicateTable(
                    f'relation "{other}" already exists',
                    hint=f'"{schema.name}" differs from it only in case, which SQL cannot tell',
                )
        return self.engine.create(schema, if_not_exists=if_not_exists)

    def drop_namespace(self, name: str, if_exists: bool = False) -> bool:
        """Drop a namespace and the sequences it owns; refused while another references it."""
        ns = self.engine.namespace(name)
        try:
            snap = ns.snapshot()
        except UndefinedTable:
            return self.engine.drop(name, if_exists=if_exists)
        for child in self.engine.references.referrers(name):
            try:
                fks = self.engine.namespace(child).snapshot().schema.constraints.foreign_keys
            except UndefinedTable:
                continue
            if any(fk.table == name for fk in fks):
                raise DependentObjectsStillExist(
                    f"cannot drop table {name} because other objects depend on it",
                    detail=f"table {child} references it",
                )
        dropped = self.engine.drop(name, if_exists=if_exists)
        sequences = self.engine.sequences
        for col in snap.schema.columns:  # SERIAL/identity columns: nextval('<seq>'::regclass)
            if col.default and col.default.startswith("nextval('"):
                seq = col.default[len("nextval('") : col.default.rindex("'::regclass")]
                sequences.drop(seq.replace("''", "'").strip('"'), if_exists=True)
        sequences.drop(rowid_sequence(name, snap.manifest.incarnation), if_exists=True)
        for fk in snap.schema.constraints.foreign_keys:
            self.engine.references.remove(fk.table, name)
        return dropped

    def list_namespaces(self, after: str | None = None, limit: int | None = None) -> list[str]:
        """Names in order; `after` continues a listing (a cursor), `limit` bounds it."""
        names = sorted(self.engine.list_namespaces())
        if after is not None:
            names = [n for n in names if n > after]
        return names if limit is None else names[: check_k(limit, "limit")]

    def snapshot(self, name: str, eventual: bool = False) -> Snapshot:
        """The namespace's state to search: a strong read, or (`eventual`) the state this
        process has cached, without a storage request."""
        ns = self.engine.namespace(name)
        return ns.recent() if eventual else ns.snapshot()

    def schema(self, name: str) -> Schema:
        return self.engine.namespace(name).snapshot().schema

    def describe(self, name: str) -> Description:
        return Description(self.schema(name), self.engine.stats(name))

    # -- writes ----------------------------------------------------------------------------

    def upsert(self, name: str, rows: writes.Rows, *, if_absent: bool = False) -> int:
        return writes.upsert(self.engine, name, rows, if_absent=if_absent)

    def patch(
        self,
        name: str,
        values: Mapping[str, Any],
        *,
        ids: Sequence[Any] | None = None,
        filter: FilterArg = None,
    ) -> int:
        where = _parsed(filter)
        return writes.patch(self.engine, name, values, ids=ids, where=where)

    def delete(
        self, name: str, *, ids: Sequence[Any] | None = None, filter: FilterArg = None
    ) -> int:
        return writes.delete(self.engine, name, ids=ids, where=_parsed(filter))

    # -- search ----------------------------------------------------------------------------
    # Each search takes a namespace's name (its latest snapshot) or a snapshot: SQL searches
    # the one its view shows, so a search sees what a SELECT in the same statement sees.

    def vector_search(
        self,
        name: str | Snapshot,
        vectors: object,
        k: int,
        *,
        column: str | None = None,
        filter: FilterArg = None,
        ef: int | None = None,
        exact: bool = False,
        recall_target: float | None = None,
    ) -> SearchResult:
        """The k nearest rows to each query vector, with `_distance`. `ef` sets the index
        search's breadth; else `recall_target` (default: the namespace's) chooses it."""
        snap = self._snapshot(name)
        where = self._allowed(snap, filter)
        found = self._vector(snap, vectors, check_k(k), column, where, ef, exact, recall_target)
        return replace(found, schema=snap.schema)

    def _vector(
        self,
        snap: Snapshot,
        vectors: object,
        k: int,
        column: str | None,
        where: KeyFilter | None,
        ef: int | None,
        exact: bool = False,
        recall_target: float | None = None,
    ) -> SearchResult:
        if ef is not None:
            check_k(ef, "ef")
        if recall_target is not None:
            check_recall_target(recall_target)
        col = vector_column(snap, column)
        queries = query_matrix(vectors, col)
        self.engine.recent_queries.add(snap.name, snap.manifest.incarnation, col.name, queries)
        return vector_search(
            snap,
            self.engine.files,
            col,
            queries,
            k,
            ef=ef,
            exact=exact,
            allowed_keys=(lambda: self._keys_of(snap, where)) if where else None,
            filter_id=where.cache_id if where else None,
            recall_target=recall_target,
        )

    def text_search(
        self,
        name: str | Snapshot,
        query: str | Sequence[str],
        k: int,
        *,
        columns: str | None = None,
        filter: FilterArg = None,
        mode: str = DEFAULT_MODE,
    ) -> SearchResult:
        """The k best BM25 matches of the query text (or of each of a list of them), with
        `_score`. `columns`: the full-text columns to search, with weights ('title^2, body');
        default all."""
        snap = self._snapshot(name)
        where = self._allowed(snap, filter)
        found = self._text(snap, query, check_k(k), columns, where, mode)
        return replace(found, schema=snap.schema)

    def _text(
        self,
        snap: Snapshot,
        query: str | Sequence[str],
        k: int,
        columns: str | None,
        where: KeyFilter | None,
        mode: str,
    ) -> SearchResult:
        texts = [query] if isinstance(query, str) else list(query)
        for text in texts:
            if text is None:
                raise InvalidParameterValue("the query text is NULL")
            if not isinstance(text, str):
                raise InvalidParameterValue("text search query must be a non-empty string")
        searcher = self.engine.full_text.searcher(snap)
        return text_search(
            snap, self.engine.files, searcher, texts, k, mode=mode, columns=columns,
            allowed_keys=self._keys_of(snap, where) if where else None,
        )  # fmt: skip

    def hybrid_search(
        self,
        name: str | Snapshot,
        vector: object,
        query: str | Sequence[str],
        k: int,
        *,
        fusion: Fusion | None = None,
        window: int | None = None,
        filter: FilterArg = None,
        column: str | None = None,
        columns: str | None = None,
        mode: str = DEFAULT_MODE,
        ef: int | None = None,
        recall_target: float | None = None,
    ) -> SearchResult:
        """Both searches, `window` candidates each under the same filter, fused (RRF by
        default: `_score`, `_vector_rank`, `_text_rank`), as SQL's hybrid_search."""
        k = check_k(k)
        window = default_window(k) if window is None else check_k(window, "window")
        snap = self._snapshot(name)  # both branches read one snapshot
        where = self._allowed(snap, filter)
        vectors = self._vector(snap, vector, window, column, where, ef, False, recall_target)
        texts = self._text(snap, query, window, columns, where, mode)
        found = fuse(vectors, texts, snap.schema.primary_key, k, fusion or Fusion())
        return replace(found, schema=snap.schema)

    def snippets(
        self, name: str | Snapshot, column: str, query: str, values: list[str | None], mode: str
    ) -> list[str | None]:
        """`values` of a full-text column with the query's terms highlighted."""
        searcher = self.engine.full_text.searcher(self._snapshot(name))
        return searcher.snippets(query, values, column, mode=mode)

    def _snapshot(self, name: str | Snapshot) -> Snapshot:
        return name if isinstance(name, Snapshot) else self.engine.namespace(name).snapshot()

    def _keys_of(self, snap: Snapshot, where: KeyFilter) -> pa.Array:
        """The keys the filter admits, evaluated once per snapshot (unless it is volatile):
        a hybrid search's two branches and the next searches share them (evaluating a SQL
        filter scans the namespace: O(rows) per query otherwise)."""
        if where.cache_id is None:
            return where.keys()
        key = ("filter-keys", snap.name, snap.token, where.cache_id)
        return self.engine.files.memory.get(key, where.keys)

    def _allowed(self, snap: Snapshot, f: FilterArg) -> KeyFilter | None:
        """The filter as the keys it admits: a JSON filter checked against the schema and
        evaluated here (cached per snapshot), a KeyFilter as its maker evaluates it."""
        if f is None or isinstance(f, KeyFilter):
            return f
        where = check_filter(_parsed(f), snap.schema)  # type: ignore[arg-type]
        files = self.engine.files
        return KeyFilter(lambda: filter_keys(snap, files, where), ("json", canonical(where)))

    # -- maintenance -----------------------------------------------------------------------

    def stats(self, name: str) -> dict[str, Any]:
        return self.engine.stats(name)

    def recall(self, name: str | Snapshot, sample: int, column: str | None = None) -> Recall:
        """Recall@10 of default vector searches against exact search, on `sample` stored
        vectors as queries and on the recent real queries (at most `sample` of them)."""
        sample = check_k(sample, "sample")
        snap = self._snapshot(name)
        col = vector_column(snap, column)
        files = self.engine.files
        stored = stored_queries(snap, files, col, sample)
        recent = self.engine.recent_queries.get(snap.name, snap.manifest.incarnation, col.name)
        recent = recent[-sample:]
        return Recall(
            col.name,
            len(stored),
            measure_recall(snap, files, col, stored),
            len(recent),
            measure_recall(snap, files, col, recent),
        )

    def compact(self, name: str) -> dict[str, Any]:
        """Fold the WAL tail, merge small segments, re-measure the indexes' recall curves on
        recent real queries, collect garbage; returns the stats."""
        self.engine.namespace(name).snapshot()  # UndefinedTable for a missing namespace
        self.engine.fold(name)
        self.engine.compact(name, force=True)
        self.engine.recalibrate(name)
        self.engine.collect_garbage(name)
        return self.engine.stats(name)


def _parsed(f: FilterArg) -> Filter | None:
    if f is None or isinstance(f, Filter):
        return f
    return parse_filter(f)
