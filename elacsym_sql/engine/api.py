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

from ..errors import (
    DatatypeMismatch,
    DependentObjectsStillExist,
    DuplicateTable,
    InvalidParameterValue,
    InvalidVector,
    UndefinedTable,
)
from ..index.analyzer import check_options
from ..schema import Schema
from . import writes
from .engine import Engine
from .filters import Filter, canonical, check_filter, filter_keys, parse_filter
from .fusion import Fusion, default_window, fuse
from .namespace import Snapshot
from .search import SearchResult, text_search
from .search_spec import DEFAULT_MODE, MAX_K
from .sequences import rowid_sequence
from .vector_search import measure_recall, vector_column, vector_search

FilterArg = Filter | Mapping[str, Any] | None


@dataclass(frozen=True)
class Description:
    schema: Schema
    stats: dict[str, Any]


def check_k(k: object, name: str = "k") -> int:
    """A result count: an integer from 1 to MAX_K."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_K:
        raise InvalidParameterValue(f"{name} must be an integer from 1 to {MAX_K}, not {k!r}")
    return int(k)


def query_matrix(vectors: object, dim: int | None) -> np.ndarray:
    """Query vectors as a (n, dim) float32 matrix: one vector or a list of them."""
    if isinstance(vectors, np.ndarray):
        matrix = vectors.reshape(1, -1) if vectors.ndim == 1 else vectors
        if matrix.dtype.kind not in "fiu":
            raise DatatypeMismatch("the query vector must hold numbers")
        return matrix.astype(np.float32, copy=False)
    if vectors is None:
        raise InvalidParameterValue("the query vector is NULL")
    rows = vectors if vectors and isinstance(vectors[0], list | tuple | np.ndarray) else [vectors]
    for row in rows:
        if row is None:
            raise InvalidParameterValue("the query vector is NULL")
        if not isinstance(row, list | tuple | np.ndarray) or any(
            isinstance(x, bool) or not isinstance(x, int | float | np.number) for x in row
        ):
            raise DatatypeMismatch("the query vector must be a list of numbers")
        if dim is not None and len(row) != dim:
            raise InvalidVector(f"expected {dim} dimensions, not {len(row)}, for the query vector")
    return np.asarray(rows, dtype=np.float32)


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

    def vector_search(
        self,
        name: str,
        vectors: object,
        k: int,
        *,
        column: str | None = None,
        filter: FilterArg = None,
        ef: int | None = None,
        exact: bool = False,
    ) -> SearchResult:
        """The k nearest rows to each query vector, with `_distance`."""
        snap = self.engine.namespace(name).snapshot()
        where = _checked(filter, snap.schema)
        found = self._vector(snap, vectors, check_k(k), column, where, ef, exact)
        return replace(found, schema=snap.schema)

    def _vector(
        self,
        snap: Snapshot,
        vectors: object,
        k: int,
        column: str | None,
        where: Filter | None,
        ef: int | None,
        exact: bool = False,
    ) -> SearchResult:
        if ef is not None:
            check_k(ef, "ef")
        col = vector_column(snap, column)
        files = self.engine.files
        return vector_search(
            snap,
            files,
            col,
            query_matrix(vectors, col.dim),
            k,
            ef=ef,
            exact=exact,
            allowed_keys=(lambda: filter_keys(snap, files, where)) if where else None,
            filter_id=("json", canonical(where)) if where else None,
        )

    def text_search(
        self,
        name: str,
        query: str,
        k: int,
        *,
        columns: str | None = None,
        filter: FilterArg = None,
        mode: str = DEFAULT_MODE,
    ) -> SearchResult:
        """The k best BM25 matches of the query text, with `_score`. `columns`: the
        full-text columns to search, with weights ('title^2, body'); default all."""
        snap = self.engine.namespace(name).snapshot()
        found = self._text(snap, query, check_k(k), columns, _checked(filter, snap.schema), mode)
        return replace(found, schema=snap.schema)

    def _text(
        self,
        snap: Snapshot,
        query: str,
        k: int,
        columns: str | None,
        where: Filter | None,
        mode: str,
    ) -> SearchResult:
        if not isinstance(query, str):
            raise InvalidParameterValue("text search query must be a non-empty string")
        allowed = filter_keys(snap, self.engine.files, where) if where else None
        searcher = self.engine.full_text.searcher(snap)
        return text_search(
            snap, self.engine.files, searcher, [query], k, mode=mode, columns=columns,
            allowed_keys=allowed,
        )  # fmt: skip

    def hybrid_search(
        self,
        name: str,
        vector: object,
        query: str,
        k: int,
        *,
        fusion: Fusion | None = None,
        window: int | None = None,
        filter: FilterArg = None,
        column: str | None = None,
        columns: str | None = None,
        mode: str = DEFAULT_MODE,
        ef: int | None = None,
    ) -> SearchResult:
        """Both searches, `window` candidates each under the same filter, fused (RRF by
        default: `_score`, `_vector_rank`, `_text_rank`), as SQL's hybrid_search."""
        k = check_k(k)
        window = default_window(k) if window is None else check_k(window, "window")
        snap = self.engine.namespace(name).snapshot()  # both branches read one snapshot
        where = _checked(filter, snap.schema)
        vectors = self._vector(snap, vector, window, column, where, ef)
        texts = self._text(snap, query, window, columns, where, mode)
        found = fuse(vectors, texts, snap.schema.primary_key, k, fusion or Fusion())
        return replace(found, schema=snap.schema)

    # -- maintenance -----------------------------------------------------------------------

    def stats(self, name: str) -> dict[str, Any]:
        return self.engine.stats(name)

    def recall(self, name: str, sample: int, column: str | None = None) -> float | None:
        """Recall@10 of the vector index against exact search on `sample` stored vectors."""
        sample = check_k(sample, "sample")
        snap = self.engine.namespace(name).snapshot()
        return measure_recall(snap, self.engine.files, vector_column(snap, column), sample)

    def compact(self, name: str) -> dict[str, Any]:
        """Fold the WAL tail, merge small segments, collect garbage; returns the stats."""
        self.engine.namespace(name).snapshot()  # UndefinedTable for a missing namespace
        self.engine.fold(name)
        self.engine.compact(name, force=True)
        self.engine.collect_garbage(name)
        return self.engine.stats(name)


def _parsed(f: FilterArg) -> Filter | None:
    if f is None or isinstance(f, Filter):
        return f
    return parse_filter(f)


def _checked(f: FilterArg, schema: Schema) -> Filter | None:
    parsed = _parsed(f)
    return None if parsed is None else check_filter(parsed, schema)
