"""Plain search statements answered without DuckDB.

A plain `SELECT <columns> FROM vector_search|text_search|hybrid_search(...)` (the shapes in
direct_parse.py) spends most of its time in parsing and in DuckDB's per-statement
overhead (~2 ms for vector and text search here, ~8 ms for hybrid), not in the search
(~0.2 ms). Such statements run straight on the engine through the same SearchRunner the
SQL functions use; anything else goes the general way, so this is only ever a shortcut to
the same rows (tests/sql/test_direct_search.py runs every shape both ways).
"""

from __future__ import annotations

import pyarrow as pa

from ...engine import (
    DEFAULT_ALPHA,
    DEFAULT_FUSION,
    DEFAULT_MODE,
    DEFAULT_RRF_K,
    DEFAULT_WEIGHTS,
    SEARCH_FUNCTIONS,
    Engine,
    Fusion,
    SearchResult,
    Snapshot,
)
from ...schema import Schema
from ..views import ViewCatalog
from .direct_parse import DirectSearch, recognise
from .search_runner import SearchRunner

__all__ = ["DirectPath", "DirectSearch", "recognise"]


class DirectPath:
    def __init__(self, engine: Engine, views: ViewCatalog, runner: SearchRunner) -> None:
        self._engine = engine
        self._views = views
        self._runner = runner

    def run(
        self, found: DirectSearch, eventual: bool = False
    ) -> tuple[pa.Table, list[str], Schema] | None:
        """(rows as an Arrow table, their SQL types, the schema searched), or None when the
        statement's columns are not all result columns (DuckDB then reports the error its
        own way). `eventual`: search the state this process has cached."""
        opts = found.options
        if opts.get("filter"):  # the filter reads the view: bring it to the snapshot
            snap = self._views.refresh_one(found.namespace, eventual)
        else:
            ns = self._engine.namespace(found.namespace)
            snap = ns.recent() if eventual else ns.snapshot()
        schema = snap.schema
        fn = found.function
        needs_vectors, needs_text = fn != "text_search", fn != "vector_search"
        if (needs_vectors and not schema.vector_columns) or (
            needs_text and not schema.options.full_text
        ):
            return None  # the namespace has no such function: DuckDB reports it
        scores = {s.name: s.sql_type for s in SEARCH_FUNCTIONS[fn].scores}
        types = {c.name: c.type for c in schema.visible} | scores
        columns = found.columns or list(types)
        if any(n not in types for n in columns):
            return None
        rows = self._search(found, snap).rows.select(columns)
        if found.limit is not None:
            rows = rows.slice(0, found.limit)
        return rows, [types[n] for n in columns], schema

    def _search(self, found: DirectSearch, snap: Snapshot) -> SearchResult:
        opts = found.options
        if found.function == "vector_search":
            return self._runner.vector(
                snap,
                found.queries[0],
                found.k,
                opts.get("column"),
                opts.get("filter"),
                opts.get("ef"),
                opts.get("exact") or False,
                opts.get("recall_target"),
            )
        if found.function == "text_search":
            return self._runner.text(
                snap,
                found.queries,
                found.k,
                opts.get("columns"),
                opts.get("filter"),
                opts.get("mode", DEFAULT_MODE),
            )
        how = Fusion.checked(
            opts.get("fusion", DEFAULT_FUSION),
            opts.get("alpha", DEFAULT_ALPHA),
            opts.get("rrf_k", DEFAULT_RRF_K),
            opts.get("weights", DEFAULT_WEIGHTS),
        )
        return self._runner.hybrid(
            snap,
            found.queries[0],
            [found.queries[1]],
            found.k,
            how,
            opts.get("window"),
            opts.get("filter"),
            opts.get("column"),
            opts.get("columns"),
            opts.get("mode", DEFAULT_MODE),
            opts.get("ef"),
            opts.get("recall_target"),
        )
