"""Admin functions: `elacsym_namespaces()`, `elacsym_stats(ns)`, `elacsym_recall(ns, n)`,
`elacsym_compact(ns)` (fold, compact and collect now; the stats after), and the highlighter
`elacsym_snippet(ns, column, query, value)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa

from ...engine import DEFAULT_MODE, EngineApi, Snapshot
from ..errors import guarded_udf

_STATS = [
    ("namespace", pa.string(), "VARCHAR"),
    ("rows", pa.int64(), "BIGINT"),
    ("segments", pa.int64(), "BIGINT"),
    ("unindexed_rows", pa.int64(), "BIGINT"),
    ("segment_bytes", pa.int64(), "BIGINT"),
    ("index_bytes", pa.int64(), "BIGINT"),
    ("manifest_version", pa.int64(), "BIGINT"),
    ("cache_hits", pa.int64(), "BIGINT"),
    ("cache_misses", pa.int64(), "BIGINT"),
    ("cache_hit_ratio", pa.float64(), "DOUBLE"),
    ("storage_requests", pa.int64(), "BIGINT"),  # this process's, for every namespace
    # This process's requests for this namespace's objects (decision 0060), and by kind.
    ("namespace_requests", pa.int64(), "BIGINT"),
    ("namespace_gets", pa.int64(), "BIGINT"),
    ("namespace_puts", pa.int64(), "BIGINT"),
    ("namespace_lists", pa.int64(), "BIGINT"),
    # Group commit here (decision 0076): WAL objects written for batches, writes in them.
    ("wal_batches", pa.int64(), "BIGINT"),
    ("batched_writes", pa.int64(), "BIGINT"),
]


# elacsym_recall's columns: stored vectors as queries, and this process's recent real queries
_RECALL = [
    ("column", pa.string(), "VARCHAR"),
    ("queries", pa.int64(), "BIGINT"),
    ("recall_at_10", pa.float64(), "DOUBLE"),
    ("recent_queries", pa.int64(), "BIGINT"),
    ("recent_recall_at_10", pa.float64(), "DOUBLE"),
]


def install_admin_functions(
    duck: duckdb.DuckDBPyConnection,
    api: EngineApi,
    snapshot_of: Callable[[str], Snapshot],
    compact: Callable[[str], dict[str, Any]],
) -> None:
    """`compact(ns)`: fold, compact and collect a namespace (at its owner, in a cluster);
    returns its stats."""
    duck.create_function(
        "__elacsym_namespaces",
        guarded_udf(lambda dummy: pa.array([api.list_namespaces()] * len(dummy))),
        ["INTEGER"],
        "VARCHAR[]",
        type="arrow",
        side_effects=True,
    )
    duck.execute(
        "CREATE OR REPLACE MACRO elacsym_namespaces() AS TABLE "
        "SELECT unnest(__elacsym_namespaces(0)) AS name ORDER BY name"
    )

    def stats_row(raw: dict[str, Any]) -> dict[str, Any]:
        raw = dict(raw)
        lookups = raw["cache_hits"] + raw["cache_misses"]
        raw["cache_hit_ratio"] = raw["cache_hits"] / lookups if lookups else None
        raw["storage_requests"] = sum(raw["storage_requests"].values())
        mine = raw["namespace_requests"]
        raw["namespace_requests"] = sum(mine.values())
        raw["namespace_gets"] = mine.get("get", 0)
        raw["namespace_puts"] = mine.get("put", 0) + mine.get("conditional_put", 0)
        raw["namespace_lists"] = mine.get("list", 0)
        return {field: raw[field] for field, _, _ in _STATS}

    stats_type = pa.struct([(f, t) for f, t, _ in _STATS])

    def stats(names: pa.Array) -> pa.Array:
        return pa.array([stats_row(api.stats(n)) for n in names.to_pylist()], stats_type)

    def compacted(names: pa.Array) -> pa.Array:
        return pa.array([stats_row(compact(n)) for n in names.to_pylist()], stats_type)

    def recall(names: pa.Array, samples: pa.Array, columns: pa.Array) -> pa.Array:
        out = []
        for name, sample, column in zip(
            names.to_pylist(), samples.to_pylist(), columns.to_pylist(), strict=True
        ):
            found = api.recall(snapshot_of(name), sample, column)
            out.append({name: getattr(found, name) for name, _, _ in _RECALL})
        return pa.array(out, pa.struct([(name, kind) for name, kind, _ in _RECALL]))

    duck.create_function(
        "__elacsym_recall",
        guarded_udf(recall),
        ["VARCHAR", "BIGINT", "VARCHAR"],
        "STRUCT(" + ", ".join(f'"{n}" {t}' for n, _, t in _RECALL) + ")",
        type="arrow",
        null_handling="special",
        side_effects=True,
    )
    duck.execute(
        'CREATE OR REPLACE MACRO elacsym_recall(ns, sample, "column" := NULL) AS TABLE '
        'SELECT unnest(__elacsym_recall(ns, CAST(sample AS BIGINT), CAST("column" AS VARCHAR)))'
    )

    def snippet(
        names: pa.Array, columns: pa.Array, texts: pa.Array, values: pa.Array, modes: pa.Array
    ) -> pa.Array:
        out: list[str | None] = []
        rows = zip(*(a.to_pylist() for a in (names, columns, texts, values, modes)), strict=True)
        for name, column, text, value, mode in rows:  # few rows: a result page, not a table
            out.extend(api.snippets(snapshot_of(name), column, text, [value], mode or DEFAULT_MODE))
        return pa.array(out, pa.string())

    duck.create_function(
        "__elacsym_snippet",
        guarded_udf(snippet),
        ["VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR"],
        "VARCHAR",
        type="arrow",
        null_handling="special",
        side_effects=True,
    )
    duck.execute(
        "CREATE OR REPLACE MACRO elacsym_snippet(ns, \"column\", query, value, mode := 'or') "
        'AS __elacsym_snippet(ns, "column", query, CAST(value AS VARCHAR), mode)'
    )

    struct = "STRUCT(" + ", ".join(f"{f} {t}" for f, _, t in _STATS) + ")"
    duck.create_function(
        "__elacsym_stats", guarded_udf(stats), ["VARCHAR"], struct, type="arrow", side_effects=True
    )
    duck.execute(
        "CREATE OR REPLACE MACRO elacsym_stats(ns) AS TABLE SELECT unnest(__elacsym_stats(ns))"
    )
    duck.create_function(
        "__elacsym_compact",
        guarded_udf(compacted),
        ["VARCHAR"],
        struct,
        type="arrow",
        side_effects=True,
    )
    duck.execute(
        "CREATE OR REPLACE MACRO elacsym_compact(ns) AS TABLE SELECT unnest(__elacsym_compact(ns))"
    )
