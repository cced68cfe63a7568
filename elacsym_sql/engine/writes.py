"""Writes through the engine API: upsert (optionally only absent keys), patch and delete by
keys or by filter. Each is validated whole, then appended as one WAL record: all or
nothing, durable when it returns.

A write whose effect depends on stored rows (if_absent, patch, delete) is appended only
directly after the snapshot it read, and computed again when another writer got in first
(as SQL's conditional statements are, sql/statements/dml.py). A plain upsert shares its WAL
object with those other threads make at the same time (group commit, decision 0076).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import NotSupportedError, SerializationFailure
from ..schema import Schema
from ..wal.record import Kind
from .documents import rows_table
from .engine import Engine
from .filters import Filter, check_filter, filter_mask, live_parts
from .namespace import Snapshot, WriteConflict
from .segments import as_array
from .validate import conform_keys, conform_rows

Rows = Sequence[Mapping[str, Any]] | pa.Table
# What a conditional write appends, computed from a snapshot: (kind, table, rows affected).
Plan = Callable[[Snapshot], tuple[Kind, pa.Table, int]]


def check_writable(schema: Schema) -> None:
    """The engine writes rows as given; what only SQL evaluates is refused, not skipped."""
    cons = schema.constraints
    if schema.hidden_key or cons.checks or cons.uniques or cons.foreign_keys:
        raise NotSupportedError(
            f'namespace "{schema.name}" has constraints or a hidden key that only SQL enforces',
            hint="write to it with SQL (INSERT, UPDATE, DELETE)",
        )


def _as_table(rows: Rows, schema: Schema) -> pa.Table:
    table = rows if isinstance(rows, pa.Table) else rows_table(rows, schema)
    for col in schema.visible:
        if col.name not in table.column_names:
            if col.default is not None or col.identity is not None:
                raise NotSupportedError(
                    f'column "{col.name}" has a default that only SQL evaluates: give its value',
                    hint="or write with SQL INSERT",
                )
            table = table.append_column(col.name, pa.nulls(table.num_rows, col.arrow_type))
    return table


def upsert(engine: Engine, name: str, rows: Rows, *, if_absent: bool = False) -> int:
    """Write whole rows (upsert by key); `if_absent` writes only keys not stored yet.
    Returns the number of rows written."""
    ns = engine.namespace(name)
    for _ in range(engine.settings.write_retries):
        # The rows need only the schema: as this process has it (the batch's read checks it).
        schema = (ns.snapshot() if if_absent else ns.recent()).schema
        check_writable(schema)
        table = conform_rows(_as_table(rows, schema), schema)  # the whole batch, before writing
        if table.num_rows == 0:
            return 0
        if if_absent:
            return _upsert_absent(engine, name, schema, table)
        try:
            ns.append_grouped("upsert", table, schema)
        except WriteConflict:
            continue  # the schema changed meanwhile: conform the rows to the new one
        engine.index_written(name, cached=True)
        return table.num_rows
    raise _too_many_conflicts(engine, name)


def _upsert_absent(engine: Engine, name: str, schema: Schema, table: pa.Table) -> int:
    def plan(snap: Snapshot) -> tuple[Kind, pa.Table, int]:
        present = live_keys(snap, engine, table.column(schema.primary_key))
        fresh = table.filter(pc.invert(pc.is_in(table.column(schema.primary_key), present)))
        return "upsert", fresh, fresh.num_rows

    return _conditional(engine, name, plan)


def delete(
    engine: Engine, name: str, *, ids: Sequence[Any] | None = None, where: Filter | None = None
) -> int:
    """Delete the live rows with these keys, or that the filter admits; returns how many."""

    def plan(snap: Snapshot) -> tuple[Kind, pa.Table, int]:
        check_writable(snap.schema)
        keys = matched(snap, engine, ids, where).column(snap.schema.primary_key)
        return "delete", conform_keys(keys, snap.schema), len(keys)

    return _conditional(engine, name, plan)


def patch(
    engine: Engine,
    name: str,
    values: Mapping[str, Any],
    *,
    ids: Sequence[Any] | None = None,
    where: Filter | None = None,
) -> int:
    """Set `values` (column -> value) on the live rows with these keys or admitted by the
    filter; the key cannot change. Returns the number of rows changed."""

    def plan(snap: Snapshot) -> tuple[Kind, pa.Table, int]:
        schema = snap.schema
        check_writable(schema)
        if schema.primary_key in values:
            raise NotSupportedError("a patch cannot change the key: upsert the row instead")
        rows = matched(snap, engine, ids, where)
        given = rows_table([dict(values)] * rows.num_rows, schema) if rows.num_rows else None
        for col in values:
            at = rows.schema.get_field_index(col)
            assert given is None or at >= 0
            if given is not None:
                rows = rows.set_column(at, col, given.column(col))
        return "upsert", conform_rows(rows, schema), rows.num_rows

    return _conditional(engine, name, plan)


def matched(
    snap: Snapshot, engine: Engine, ids: Sequence[Any] | None, where: Filter | None
) -> pa.Table:
    """The live rows (storage schema) with keys `ids`, or admitted by `where`."""
    if (ids is None) == (where is None):
        raise NotSupportedError("give either ids or a filter")
    key = snap.schema.primary_key
    checked = check_filter(where, snap.schema) if where is not None else None
    wanted = None if ids is None else conform_keys(pa.array(list(ids)), snap.schema).column(key)
    parts = []
    for rows, live in live_parts(snap, engine.files):
        mask = live.copy()
        if wanted is not None:
            in_ids = pc.is_in(as_array(rows.column(key)), value_set=wanted)
            mask &= in_ids.to_numpy(zero_copy_only=False)
        if checked is not None:
            mask &= filter_mask(checked, rows)
        if mask.any():
            parts.append(rows.filter(pa.array(mask)))
    schema = snap.schema.arrow_schema
    return pa.concat_tables(parts).cast(schema) if parts else schema.empty_table()


def live_keys(snap: Snapshot, engine: Engine, keys: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Which of `keys` are stored (live) in the snapshot."""
    key = snap.schema.primary_key
    found = []
    for rows, live in live_parts(snap, engine.files):
        stored = as_array(rows.column(key))
        hit = live & pc.is_in(stored, value_set=keys).to_numpy(zero_copy_only=False)
        found.append(stored.filter(pa.array(hit)))
    return pa.concat_arrays(found) if found else pa.array([], keys.type)


def _conditional(engine: Engine, name: str, plan: Plan) -> int:
    ns = engine.namespace(name)
    with ns.write_lock:
        for _ in range(engine.settings.write_retries):
            snap = ns.snapshot()
            if snap.pending:  # must not overwrite an undecided transaction's rows unseen
                ns.wait_for_pending()
                snap = ns.snapshot()
            kind, table, count = plan(snap)
            if table.num_rows == 0:
                return 0
            try:
                ns.append(kind, table, based_on=snap.tail_seq)
            except WriteConflict:
                continue
            engine.index_written(name)
            return count
    raise _too_many_conflicts(engine, name)


def _too_many_conflicts(engine: Engine, name: str) -> SerializationFailure:
    return SerializationFailure(
        f"could not write to {name}: other writers changed it "
        f"{engine.settings.write_retries} times while this write was computed"
    )
