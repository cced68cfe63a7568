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

from ..engine import Snapshot
from ..engine.search import DISTANCE, SCORE, SearchResult
from ..schema import Schema
from .errors import guarded_udf
from .hybrid import hybrid_macro_sql
from .search_calls import macro_name
from .search_runner import SearchRunner
from .views import quote

# Types the UDF's structs carry: storage forms (UUID and JSON as text); the macro casts back.
_STORAGE_TYPES = {"UUID": "VARCHAR", "JSON": "VARCHAR"}


def _storage_type(type_: str) -> str:
    base, _, rest = type_.partition("[")
    return _STORAGE_TYPES.get(base, base) + ("[" + rest if rest else "")


def _row_struct(schema: Schema, extra: list[tuple[str, str]]) -> str:
    fields = [(c.name, _storage_type(c.type)) for c in schema.columns] + extra
    return "STRUCT(" + ", ".join(f"{quote(n)} {t}" for n, t in fields) + ")[]"


def _macro_select(schema: Schema, extra: list[str]) -> str:
    cols = [f"CAST({quote(c.name)} AS {c.type}) AS {quote(c.name)}" for c in schema.columns]
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
            self._install_text(schema, duck)
        if schema.vector_columns:
            self._install_vector(schema, duck)
        if schema.options.full_text and schema.vector_columns:
            duck.execute(hybrid_macro_sql(schema))

    def _install_vector(self, schema: Schema, duck: duckdb.DuckDBPyConnection) -> None:
        name = schema.name
        udf = f"__elacsym_vs__{name}"
        with_distance = _row_struct(schema, [(DISTANCE, "FLOAT")])
        with contextlib.suppress(duckdb.Error):  # not installed yet
            duck.remove_function(udf)
        duck.create_function(
            udf,
            guarded_udf(functools.partial(self._vector_batch, name)),
            ["FLOAT[]", "BIGINT", "VARCHAR", "VARCHAR", "BIGINT", "BOOLEAN"],
            with_distance,
            type="arrow",
            null_handling="special",
            side_effects=True,
        )
        duck.execute(
            f"CREATE OR REPLACE MACRO {macro_name('vector_search', name)}"
            '(q, k, "column" := NULL, filter := NULL, ef := NULL, exact := false) AS TABLE '
            f"SELECT {_macro_select(schema, [DISTANCE])} FROM (SELECT unnest("
            f'{udf}(CAST(q AS FLOAT[]), CAST(k AS BIGINT), CAST("column" AS VARCHAR), '
            "CAST(filter AS VARCHAR), CAST(ef AS BIGINT), CAST(exact AS BOOLEAN)), "
            "recursive := true))"
        )

    def _install_text(self, schema: Schema, duck: duckdb.DuckDBPyConnection) -> None:
        name = schema.name
        udf = f"__elacsym_ts__{name}"
        with contextlib.suppress(duckdb.Error):  # not installed yet
            duck.remove_function(udf)
        duck.create_function(
            udf,
            guarded_udf(functools.partial(self._text_batch, name)),
            ["VARCHAR", "BIGINT", "VARCHAR", "VARCHAR", "VARCHAR"],
            _row_struct(schema, [(SCORE, "FLOAT")]),
            type="arrow",
            null_handling="special",
            side_effects=True,
        )
        duck.execute(
            f"CREATE OR REPLACE MACRO {macro_name('text_search', name)}"
            "(query, k, columns := NULL, filter := NULL, mode := 'or') AS TABLE "
            f"SELECT {_macro_select(schema, [SCORE])} FROM (SELECT unnest("
            f"{udf}(CAST(query AS VARCHAR), CAST(k AS BIGINT), CAST(columns AS VARCHAR), "
            "CAST(filter AS VARCHAR), CAST(mode AS VARCHAR)), recursive := true))"
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
        args = [a.to_pylist() for a in (k, columns, filt, mode)]
        results: list[pa.Table | None] = [None] * len(texts)
        for (k_i, columns_i, filter_sql, mode_i), rows in _groups(args).items():
            found = self._runner.text(
                snap, [texts[i] for i in rows], k_i, columns_i, filter_sql, mode_i
            )
            for j, i in enumerate(rows):
                results[i] = _one(found, j)
        return _as_lists(results, snap.schema, SCORE)

    def _vector_batch(
        self,
        name: str,
        q: pa.Array,
        k: pa.Array,
        column: pa.Array,
        filt: pa.Array,
        ef: pa.Array,
        exact: pa.Array,
    ) -> pa.Array:
        snap = self._snapshot_of(name)
        args = [a.to_pylist() for a in (k, column, filt, ef, exact)]
        results: list[pa.Table | None] = [None] * len(q)
        for (k_i, col_name, filter_sql, ef_i, exact_i), rows in _groups(args).items():
            vectors = [
                q[i].values.to_numpy(zero_copy_only=False) if q[i].is_valid else None for i in rows
            ]
            found = self._runner.vector(snap, vectors, k_i, col_name, filter_sql, ef_i, exact_i)
            for j, i in enumerate(rows):
                results[i] = _one(found, j)
        return _as_lists(results, snap.schema, DISTANCE)


def _groups(args: list[list[Any]]) -> dict[tuple[Any, ...], list[int]]:
    """Input rows by their options: a LATERAL batch shares its options, so it becomes one
    search per group instead of one per row."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, options in enumerate(zip(*args, strict=True)):
        groups.setdefault(options, []).append(i)
    return groups


def _one(found: SearchResult, j: int) -> pa.Table:
    return found.rows.slice(found.offsets[j], found.offsets[j + 1] - found.offsets[j])


def _as_lists(results: list[Any], schema: Schema, score: str) -> pa.Array:
    tables = [t for t in results if t is not None]
    rows = pa.concat_tables(tables) if tables else None
    offsets = np.zeros(len(results) + 1, dtype=np.int32)
    np.cumsum([t.num_rows for t in results], out=offsets[1:])
    if rows is None:
        fields = [*schema.arrow_schema, pa.field(score, pa.float32())]
        structs = pa.array([], pa.struct(fields))
    else:
        rows = rows.combine_chunks()
        structs = pa.StructArray.from_arrays(
            [c.combine_chunks() for c in rows.columns], names=rows.column_names
        )
    return pa.ListArray.from_arrays(pa.array(offsets), structs)
