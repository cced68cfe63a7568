"""`elacsym_cluster()`: the cluster's members, their liveness and how many namespaces each
owns; `elacsym_owner(ns)`: the member owning a namespace (cluster/status.py)."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa

from ...cluster import ClusterNode, cluster_rows, owner_of
from ...config import Settings
from ...engine import Engine
from ..errors import guarded_udf

_ROWS = [
    ("node_id", pa.string(), "VARCHAR"),
    ("role", pa.string(), "VARCHAR"),
    ("pg_address", pa.string(), "VARCHAR"),
    ("http_address", pa.string(), "VARCHAR"),
    ("live", pa.bool_(), "BOOLEAN"),
    ("heartbeat_age", pa.float64(), "DOUBLE"),
    ("namespaces", pa.int64(), "BIGINT"),
    ("this_node", pa.bool_(), "BOOLEAN"),
]


def install_cluster_functions(
    duck: duckdb.DuckDBPyConnection,
    node: Callable[[], ClusterNode | None],
    engine: Engine,
    settings: Settings,
) -> None:
    """`node()`: this process's membership, or None outside a cluster (set once serving)."""
    row_type = pa.struct([(f, t) for f, t, _ in _ROWS])

    def rows(dummy: pa.Array) -> pa.Array:
        found = cluster_rows(node(), engine, settings)
        return pa.array([found] * len(dummy), pa.list_(row_type))

    struct = "STRUCT(" + ", ".join(f"{f} {t}" for f, _, t in _ROWS) + ")"
    duck.create_function(
        "__elacsym_cluster",
        guarded_udf(rows),
        ["INTEGER"],
        f"{struct}[]",
        type="arrow",
        side_effects=True,
    )
    duck.execute(
        "CREATE OR REPLACE MACRO elacsym_cluster() AS TABLE "
        "SELECT unnest(__elacsym_cluster(0), recursive := true)"
    )

    def owners(names: pa.Array) -> pa.Array:
        found = node()
        return pa.array(
            [None if n is None else owner_of(found, settings, n) for n in names.to_pylist()],
            pa.string(),
        )

    duck.create_function(
        "elacsym_owner",
        guarded_udf(owners),
        ["VARCHAR"],
        "VARCHAR",
        type="arrow",
        null_handling="special",
        side_effects=True,
    )
