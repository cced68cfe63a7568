"""Plain search statements answered without DuckDB.

A plain `SELECT <columns> FROM vector_search|text_search|hybrid_search(...)` (the shapes in
direct_parse.py) spends most of its time in parsing and in DuckDB's per-statement
overhead (~2 ms for vector and text search here, ~8 ms for hybrid), not in the search
(~0.2 ms). Such statements run straight on the engine through the same SearchRunner the
SQL functions use; anything else goes the general way, so this is only ever a shortcut to
the same rows (tests/sql/test_direct_search.py runs every shape both ways).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..engine import Engine, Snapshot
from ..engine.fusion import DEFAULT_ALPHA, DEFAULT_RRF_K, Fusion
from ..engine.search import SearchResult
from ..schema import Schema
from .direct_parse import DirectSearch, recognise
from .search_runner import SCORE_COLUMNS, SearchRunner
from .views import ViewCatalog

__all__ = ["DirectPath", "DirectSearch", "recognise"]


class DirectPath:
    def __init__(self, engine: Engine, views: ViewCatalog, runner: SearchRunner) -> None:
        self._engine = engine
        self._views = views
        self._runner = runner

    def run(self, found: DirectSearch) -> tuple[pa.Table, list[str], Schema] | None:
        """(rows as an Arrow table, their SQL types, the schema searched), or None when the
        statement's columns are not all result columns (DuckDB then reports the error its
        own way)."""
        opts = found.options
        if opts.get("filter"):  # the filter reads the view: bring it to the snapshot
            snap = self._views.refresh_one(found.namespace)
        else:
            snap = self._engine.namespace(found.namespace).snapshot()
        schema = snap.schema
        fn = found.function
        needs_vectors, needs_text = fn != "text_search", fn != "vector_search"
        if (needs_vectors and not schema.vector_columns) or (
            needs_text and not schema.options.full_text
        ):
            return None  # the namespace has no such function: DuckDB reports it
        types = {c.name: c.type for c in schema.visible} | dict(SCORE_COLUMNS[fn])
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
                [np.asarray(found.queries[0], dtype=np.float32)],
                found.k,
                opts.get("column"),
                opts.get("filter"),
                opts.get("ef"),
                opts.get("exact") or False,
            )
        if found.function == "text_search":
            return self._runner.text(
                snap,
                found.queries,
                found.k,
                opts.get("columns"),
                opts.get("filter"),
                opts.get("mode", "or"),
            )
        how = Fusion.checked(
            opts.get("fusion", "rrf"),
            opts.get("alpha", DEFAULT_ALPHA),
            opts.get("rrf_k", DEFAULT_RRF_K),
            opts.get("weights", (1.0, 1.0)),
        )
        return self._runner.hybrid(
            snap,
            [np.asarray(found.queries[0], dtype=np.float32)],
            [found.queries[1]],
            found.k,
            how,
            opts.get("window"),
            opts.get("filter"),
            opts.get("column"),
            opts.get("columns"),
            opts.get("mode", "or"),
            opts.get("ef"),
        )
