"""TRUNCATE of one or more namespaces: every live row deleted, all tables or none.

The deletes are staged in a transaction (the session's block, or one of its own outside a
block), so several tables are emptied by one atomic commit (decision 0021's protocol).
`RESTART IDENTITY` sets the tables' own sequences back to their start.
"""

from __future__ import annotations

import duckdb
from sqlglot import exp

from ...engine import Engine, conform_keys
from ...errors import NotSupportedError, SerializationFailure, UndefinedTable
from ..bind import run_arrow
from ..parse import table_name
from ..session.transactions import TransactionBlock
from ..session.txn_control import Control
from ..views import ViewCatalog, quote, rows_view
from .ddl import owned_sequences


def truncate_targets(tree: exp.TruncateTable) -> list[str | None]:
    return [table_name(t) if isinstance(t, exp.Table) else None for t in tree.expressions]


def execute_truncate(
    engine: Engine,
    views: ViewCatalog,
    cur: duckdb.DuckDBPyConnection,
    names: list[str],
    tree: exp.TruncateTable,
    block: TransactionBlock,
) -> None:
    if (tree.args.get("option") or "").upper() == "CASCADE":
        raise NotSupportedError("TRUNCATE ... CASCADE is not supported")
    for name in names:
        views.refresh_one(name)  # an unknown table is an error before anything is staged
        _check_not_referenced(engine, name, set(names))
    if block.active is not None:
        _stage_deletes(engine, cur, names, block)
    else:
        for attempt in range(engine.settings.write_retries):
            own = TransactionBlock(engine.begin, views)
            own.control(Control("begin"))
            try:
                _stage_deletes(engine, cur, names, own)
                own.control(Control("commit"))
                block.commit_point.reach()  # committed: a cancel from now on is too late
                break
            except SerializationFailure:
                if attempt + 1 == engine.settings.write_retries:
                    raise
            finally:
                if own.state != "idle":
                    own.control(Control("rollback"))
    if (tree.args.get("identity") or "").upper() == "RESTART":
        for name in names:
            schema = views.snapshot_of(name).schema
            for seq in owned_sequences(schema):
                engine.sequences.restart(seq)


def _stage_deletes(
    engine: Engine, cur: duckdb.DuckDBPyConnection, names: list[str], block: TransactionBlock
) -> None:
    block.show(cur, names)
    tx = block.active
    assert tx is not None
    for name in names:
        schema = tx.snapshot(name).schema
        keys = run_arrow(cur, f"SELECT {quote(schema.primary_key)} FROM {rows_view(schema)}", [])
        tx.stage(name, "delete", conform_keys(keys.column(0), schema))


def _check_not_referenced(engine: Engine, name: str, truncated: set[str]) -> None:
    for child in engine.references.referrers(name):
        if child in truncated:
            continue
        try:
            schema = engine.namespace(child).snapshot().schema
        except UndefinedTable:
            continue
        if any(fk.table == name for fk in schema.constraints.foreign_keys):
            raise NotSupportedError(
                "cannot truncate a table referenced in a foreign key constraint",
                detail=f'Table "{child}" references "{name}".',
                hint=f'Truncate table "{child}" at the same time, or use TRUNCATE ... CASCADE.',
            )
