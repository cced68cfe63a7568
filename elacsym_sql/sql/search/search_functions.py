"""Search table functions: a per-namespace Arrow UDF wrapped in a DuckDB table macro.

`vector_search('docs', q, k, ...)` is rewritten (search_calls.py) to the macro
`elacsym_vector_search__docs(q, k, ...)`, which unnests the list of row structs its UDF
returns. The UDF runs against the snapshot the namespace's view was last brought to, so a
search sees exactly what a SELECT in the same statement sees.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...engine import SEARCH_FUNCTIONS, Fusion, SearchFunction, SearchResult, Snapshot
from ...schema import Column, Schema, storage_type
from ..errors import guarded_udf
from ..views import quote
from .search_calls import macro_name
from .search_runner import SearchRunner


# Types the UDF's structs carry: storage forms (schema.py: UUID, JSON, enum labels and
# intervals as text); the macro casts back.
def _storage_type(col: Column) -> str:
    base = "VARCHAR" if pa.types.is_string(storage_type(col.base)) else col.base
    return base + col.type[len(col.base) :]


def _row_struct(schema: Schema, spec: SearchFunction) -> str:
    fields = [(c.name, _storage_type(c)) for c in schema.columns]
    fields += [(s.name, s.sql_type) for s in spec.scores]
    return "STRUCT(" + ", ".join(f"{quote(n)} {t}" for n, t in fields) + ")[]"


def _macro_select(schema: Schema, extra: list[str]) -> str:
    cols = [f"CAST({quote(c.name)} AS {c.type}) AS {quote(c.name)}" for c in schema.visible]
    return ", ".join(cols + [quote(x) for x in extra])


class SearchFunctions:
    """Installs and serves the search functions of every namespace."""

    def __init__(
        self,
        runner: SearchRunner,
        snapshot_of: Callable[[str], Snapshot],
    ) -> None:
        self._runner = runner
        self._snapshot_of = snapshot_of

    def install(self, schema: Schema, duck: duckdb.DuckDBPyConnection) -> None:
        """(Re)create the functions of a namespace; `duck` is the catalog connection."""
        if schema.options.full_text:
            self._install(duck, schema, "text_search", self._text_batch)
        if schema.vector_columns:
            self._install(duck, schema, "vector_search", self._vector_batch)
        if schema.options.full_text and schema.vector_columns:
            self._install(duck, schema, "hybrid_search", self._hybrid_batch)

    def _install(
        self,
        duck: duckdb.DuckDBPyConnection,
        schema: Schema,
        function: str,
        batch: Callable[..., pa.Array],
    ) -> None:
        """The UDF `batch` and the table macro `function` over it, with the parameters the
        search spec states: one without a default is positional, else `name := default`."""
        spec = SEARCH_FUNCTIONS[function]
        udf = f"__elacsym_{function}__{schema.name}"
        udf_sql = quote(udf)
        with contextlib.suppress(duckdb.Error):  # not installed yet
            duck.remove_function(udf)
        duck.create_function(
            udf,
            guarded_udf(functools.partial(batch, schema.name)),
            [p.sql_type for p in spec.params],
            _row_struct(schema, spec),
            type="arrow",
            null_handling="special",
            side_effects=True,
        )
        signature = ", ".join(
            quote(p.name) if p.default is None else f"{quote(p.name)} := {p.default}"
            for p in spec.params
        )
        arguments = ", ".join(f"CAST({quote(p.name)} AS {p.sql_type})" for p in spec.params)
        extra = [s.name for s in spec.scores]
        duck.execute(
            f"CREATE OR REPLACE MACRO {macro_name(function, schema.name)}({signature}) AS TABLE "
            f"SELECT {_macro_select(schema, extra)} FROM (SELECT unnest({udf_sql}({arguments}), "
            "recursive := true))"
        )

    def _text_batch(
        self,
        name: str,
        query: pa.Array,
        k: pa.Array,
        columns: pa.Array,
        filt: pa.Array,
        mode: pa.Array,
    ) -> pa.Array:
        snap = self._snapshot_of(name)
        texts = query.to_pylist()

        def search(options: tuple[Any, ...], rows: list[int]) -> SearchResult:
            return self._runner.text(snap, [texts[i] for i in rows], *options)

        args = [a.to_pylist() for a in (k, columns, filt, mode)]
        return _as_lists(_per_group(len(texts), args, search), snap.schema, "text_search")

    def _hybrid_batch(
        self,
        name: str,
        q: pa.Array,
        query: pa.Array,
        k: pa.Array,
        fusion: pa.Array,
        alpha: pa.Array,
        rrf_k: pa.Array,
        weights: pa.Array,
        window: pa.Array,
        filt: pa.Array,
        column: pa.Array,
        columns: pa.Array,
        mode: pa.Array,
        ef: pa.Array,
        recall_target: pa.Array,
    ) -> pa.Array:
        snap = self._snapshot_of(name)
        texts = query.to_pylist()

        def search(options: tuple[Any, ...], rows: list[int]) -> SearchResult:
            k_i, fusion_i, alpha_i, rrf_k_i, weights_i, *rest = options
            how = Fusion.checked(fusion_i, alpha_i, rrf_k_i, weights_i)
            vectors, queries = _vectors(q, rows), [texts[i] for i in rows]
            return self._runner.hybrid(snap, vectors, queries, k_i, how, *rest)

        pairs = [None if w is None else tuple(w) for w in weights.to_pylist()]  # hashable
        args = (
            [a.to_pylist() for a in (k, fusion, alpha, rrf_k)]
            + [pairs]
            + [a.to_pylist() for a in (window, filt, column, columns, mode, ef, recall_target)]
        )
        return _as_lists(_per_group(len(q), args, search), snap.schema, "hybrid_search")

    def _vector_batch(
        self,
        name: str,
        q: pa.Array,
        k: pa.Array,
        column: pa.Array,
        filt: pa.Array,
        ef: pa.Array,
        exact: pa.Array,
        recall_target: pa.Array,
    ) -> pa.Array:
        snap = self._snapshot_of(name)

        def search(options: tuple[Any, ...], rows: list[int]) -> SearchResult:
            return self._runner.vector(snap, _vectors(q, rows), *options)

        args = [a.to_pylist() for a in (k, column, filt, ef, exact, recall_target)]
        return _as_lists(_per_group(len(q), args, search), snap.schema, "vector_search")


def _per_group(
    count: int,
    args: list[list[Any]],
    search: Callable[[tuple[Any, ...], list[int]], SearchResult],
) -> list[pa.Table | None]:
    """Each input row's result rows: `search` runs once per group of rows sharing options."""
    results: list[pa.Table | None] = [None] * count
    for options, rows in _groups(args).items():
        found = search(options, rows)
        for j, i in enumerate(rows):
            results[i] = _one(found, j)
    return results


def _groups(args: list[list[Any]]) -> dict[tuple[Any, ...], list[int]]:
    """Input rows by their options: a LATERAL batch shares its options, so it becomes one
    search per group instead of one per row."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, options in enumerate(zip(*args, strict=True)):
        groups.setdefault(options, []).append(i)
    return groups


def _vectors(
    q: pa.Array | pa.ChunkedArray, rows: list[int]
) -> np.ndarray | list[np.ndarray | None]:
    """The query vectors of `rows`: one matrix when they are all present and equally long
    (a LATERAL batch), else one array per row."""
    if isinstance(q, pa.ChunkedArray):
        q = q.combine_chunks()
    picked = q if len(rows) == len(q) else q.take(pa.array(rows))
    if picked.null_count == 0 and len(picked):
        lengths = pc.list_value_length(picked).to_numpy(zero_copy_only=False)
        if (lengths == lengths[0]).all():
            flat = picked.flatten().to_numpy(zero_copy_only=False)
            return flat.reshape(len(picked), int(lengths[0]))
    return [v.values.to_numpy(zero_copy_only=False) if v.is_valid else None for v in picked]


def _one(found: SearchResult, j: int) -> pa.Table:
    return found.rows.slice(found.offsets[j], found.offsets[j + 1] - found.offsets[j])


def _as_lists(results: list[Any], schema: Schema, function: str) -> pa.Array:
    tables = [t for t in results if t is not None]
    rows = pa.concat_tables(tables) if tables else None
    offsets = np.zeros(len(results) + 1, dtype=np.int32)
    np.cumsum([t.num_rows for t in results], out=offsets[1:])
    if rows is None:
        extra = [pa.field(s.name, s.arrow_type) for s in SEARCH_FUNCTIONS[function].scores]
        structs = pa.array([], pa.struct([*schema.arrow_schema, *extra]))
    else:
        rows = rows.combine_chunks()
        structs = pa.StructArray.from_arrays(
            [c.combine_chunks() for c in rows.columns], names=rows.column_names
        )
    return pa.ListArray.from_arrays(pa.array(offsets), structs)
