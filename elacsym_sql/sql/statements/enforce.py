"""Constraints that take SQL or other rows to check, before a write is appended or staged
(docs/decisions/0026-constraints.md): CHECK on each new row; UNIQUE (constraints and unique
indexes) within the statement and against the namespace's rows at the statement's snapshot;
FOREIGN KEY: the referenced row exists, and a delete leaves no row referencing what it
removes (NO ACTION/RESTRICT).
NOT NULL and the primary key are checked with the rows themselves (engine/validate.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import duckdb
import pyarrow as pa

from ...constraints import ForeignKey
from ...engine import Engine, WriteKind, failing_row
from ...errors import CheckViolation, ForeignKeyViolation, UndefinedTable, UniqueViolation
from ...schema import Schema
from ..views import quote, rows_view

# Makes the cursor see these namespaces as the write must (up to date, or as the
# transaction block sees them).
Show = Callable[[Iterable[str]], None]

ROWS = "__elacsym_written"


def enforce(
    cur: duckdb.DuckDBPyConnection,
    engine: Engine,
    schema: Schema,
    kind: WriteKind,
    rows: pa.Table,
    show: Show,
) -> None:
    """Raise the Postgres error of the first constraint `rows` break; nothing is written."""
    cons = schema.constraints
    if kind == "delete":
        referrers = engine.references.referrers(schema.name) if rows.num_rows else []
        if referrers:
            with _registered(cur, rows):
                _restrict(cur, engine, schema, rows, referrers, show)
        return
    uniques = cons.unique_keys
    if not (cons.checks or uniques or cons.foreign_keys) or not rows.num_rows:
        return
    with _registered(cur, rows):
        written = f"(SELECT {_casts(schema, rows)}, row_number() OVER () - 1 AS __n FROM {ROWS})"
        for check in cons.checks:
            found = _first(
                cur,
                f"SELECT __n FROM {written} AS {quote(schema.name)} "
                f"WHERE ({check.sql}) IS FALSE LIMIT 1",
            )
            if found:
                raise CheckViolation(
                    f'new row for relation "{schema.name}" violates check constraint '
                    f'"{check.name}"',
                    detail=f"Failing row contains {failing_row(rows, found[0], schema)}.",
                )
        if uniques:
            show([schema.name])
        for unique in uniques:
            _unique(cur, schema, written, unique.name, unique.columns)
        for fk in cons.foreign_keys:
            if fk.table != schema.name:
                show([fk.table])
            _references_exist(cur, schema, written, fk)


def check_definitions(cur: duckdb.DuckDBPyConnection, schema: Schema) -> None:
    """Bind a new table's DEFAULT and CHECK expressions in DuckDB (nothing runs), so a
    wrong one fails CREATE TABLE rather than every INSERT."""
    cols = ", ".join(f"CAST(NULL AS {c.type}) AS {quote(c.name)}" for c in schema.visible)
    exprs = [f"({c.default})::{c.type}" for c in schema.visible if c.default]
    exprs += [f"({check.sql})::BOOLEAN" for check in schema.constraints.checks]
    if exprs:
        _first(
            cur,
            f"SELECT {', '.join(exprs)} FROM (SELECT {cols}) AS {quote(schema.name)} WHERE false",
        )


def _first(cur: duckdb.DuckDBPyConnection, sql: str) -> tuple | None:
    """The first row of `sql`, with the result read to its end (the cursor is reused)."""
    rows = cur.execute(sql).fetchall()
    return rows[0] if rows else None


class _registered:
    """`rows` visible to the cursor as ROWS for the duration."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, rows: pa.Table) -> None:
        self._cur, self._rows = cur, rows

    def __enter__(self) -> None:
        self._cur.register(ROWS, self._rows)

    def __exit__(self, *exc: object) -> None:
        self._cur.unregister(ROWS)


def _casts(schema: Schema, rows: pa.Table) -> str:
    """The written rows' columns in their SQL types (they come in storage types)."""
    return ", ".join(
        f"CAST({quote(c.name)} AS {c.type}) AS {quote(c.name)}"
        for c in schema.columns
        if c.name in rows.column_names
    )


def key_text(names: tuple[str, ...], values: tuple[object, ...]) -> str:
    shown = ", ".join("null" if v is None else str(v) for v in values)
    return f"Key ({', '.join(names)})=({shown})"


def duplicated(cur: duckdb.DuckDBPyConnection, rows: str, cols: tuple[str, ...]) -> tuple | None:
    """Values of `cols` that two rows of the relation `rows` share (NULLs never collide)."""
    quoted = [quote(c) for c in cols]
    present = " AND ".join(f"{c} IS NOT NULL" for c in quoted)
    return _first(
        cur,
        f"SELECT {', '.join(quoted)} FROM {rows} AS r WHERE {present} "
        f"GROUP BY ALL HAVING count(*) > 1 LIMIT 1",
    )


def _unique(
    cur: duckdb.DuckDBPyConnection, schema: Schema, written: str, name: str, cols: tuple[str, ...]
) -> None:
    quoted = [quote(c) for c in cols]
    present = " AND ".join(f"r.{c} IS NOT NULL" for c in quoted)  # NULLs never collide
    key = quote(schema.primary_key)
    twice = duplicated(cur, written, cols)
    stored = (
        None
        if twice
        else _first(
            cur,
            f"SELECT {', '.join('r.' + c for c in quoted)} FROM {written} AS r "
            f"JOIN {rows_view(schema)} AS o ON {' AND '.join(f'o.{c} = r.{c}' for c in quoted)} "
            f"WHERE {present} AND o.{key} NOT IN (SELECT {key} FROM {written}) LIMIT 1",
        )
    )
    found = twice or stored
    if found:
        raise UniqueViolation(
            f'duplicate key value violates unique constraint "{name}"',
            detail=f"{key_text(cols, found)} already exists.",
        )


def _references_exist(
    cur: duckdb.DuckDBPyConnection, schema: Schema, written: str, fk: ForeignKey
) -> None:
    present = " AND ".join(f"r.{quote(c)} IS NOT NULL" for c in fk.columns)  # MATCH SIMPLE
    match = " AND ".join(
        f"p.{quote(rc)} = r.{quote(c)}" for c, rc in zip(fk.columns, fk.ref_columns, strict=True)
    )
    also_new = ""
    if fk.table == schema.name:  # rows of the same statement may reference each other
        also_new = f" AND NOT EXISTS (SELECT 1 FROM {written} AS p WHERE {match})"
    found = _first(
        cur,
        f"SELECT {', '.join('r.' + quote(c) for c in fk.columns)} FROM {written} AS r "
        f"WHERE {present} AND NOT EXISTS (SELECT 1 FROM main.{quote(fk.table)} AS p "
        f"WHERE {match}){also_new} LIMIT 1",
    )
    if found:
        raise ForeignKeyViolation(
            f'insert or update on table "{schema.name}" violates foreign key constraint '
            f'"{fk.name}"',
            detail=f'{key_text(fk.columns, found)} is not present in table "{fk.table}".',
        )


def _restrict(
    cur: duckdb.DuckDBPyConnection,
    engine: Engine,
    schema: Schema,
    rows: pa.Table,
    referrers: list[str],
    show: Show,
) -> None:
    """No row of a referencing table may point at a deleted row (NO ACTION / RESTRICT)."""
    deleted = f"(SELECT {_casts(schema, rows)} FROM {ROWS})"
    for name in referrers:
        try:
            child = engine.namespace(name).snapshot().schema
        except UndefinedTable:
            continue  # the marker of a dropped table
        for fk in child.constraints.foreign_keys:
            if fk.table != schema.name:
                continue
            show([name])
            match = " AND ".join(
                f"c.{quote(c)} = d.{quote(rc)}"
                for c, rc in zip(fk.columns, fk.ref_columns, strict=True)
            )
            key = quote(child.primary_key)
            spared = ""
            if name == schema.name:  # a row deleted with its referrers is fine
                spared = f" AND c.{key} NOT IN (SELECT {key} FROM {deleted})"
            found = _first(
                cur,
                f"SELECT {', '.join('d.' + quote(rc) for rc in fk.ref_columns)} "
                f"FROM {deleted} AS d WHERE EXISTS (SELECT 1 FROM {rows_view(child)} AS c "
                f"WHERE {match}{spared}) LIMIT 1",
            )
            if found:
                raise ForeignKeyViolation(
                    f'update or delete on table "{schema.name}" violates foreign key '
                    f'constraint "{fk.name}" on table "{name}"',
                    detail=f"{key_text(fk.ref_columns, found)} is still referenced from "
                    f'table "{name}".',
                )
