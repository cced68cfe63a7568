"""What the catalog knows of each namespace beyond DuckDB's view of it.

DuckDB sees a namespace as a view: its columns and their DuckDB types. The schema says
more, and the catalog shows it (pg_views.py): the primary key (the view is then a table),
the namespace options as `reloptions` (psql `\\d+` prints them as "Options: metric=l2,
..."), a description of each vector and full-text column (`col_description`, psql's
Description column), and the declared type where DuckDB's differs (JSONB is DuckDB's JSON).
"""

from __future__ import annotations

import duckdb

from ..schema import Schema
from . import pg_types as t
from .pg_constraints import TABLE as CONSTRAINTS_TABLE
from .pg_rewrite import SHIM

TABLES = [
    CONSTRAINTS_TABLE,
    f"CREATE TABLE IF NOT EXISTS {SHIM}.namespace_keys "
    "(name VARCHAR PRIMARY KEY, key VARCHAR, options VARCHAR[])",
    f"CREATE TABLE IF NOT EXISTS {SHIM}.namespace_columns (name VARCHAR, attname VARCHAR, "
    "typid UINTEGER, description VARCHAR, def VARCHAR, identity VARCHAR, required BOOLEAN)",
]
# Declared types DuckDB spells otherwise, as the type OID the catalog shows.
_DECLARED = {"JSONB": t.JSONB, "JSONB[]": t.BY_OID[t.JSONB].array_oid}


def install_namespace_tables(duck: duckdb.DuckDBPyConnection) -> None:
    for sql in TABLES:
        duck.execute(sql)


def register_namespace(schema: Schema, duck: duckdb.DuckDBPyConnection) -> None:
    """Record a namespace's key, options and column notes: its view is then a table."""
    opts = schema.options
    options = [f"metric={opts.metric}"] if schema.vector_columns else []
    if opts.full_text:
        options += [
            f"full_text={','.join(opts.full_text)}",
            f"language={opts.language}",
            f"stemming={str(opts.stemming).lower()}",
            f"stopwords={str(opts.stopwords).lower()}",
            f"case_sensitive={str(opts.case_sensitive).lower()}",
            f"k1={opts.k1:g}",
            f"b={opts.b:g}",
        ]
    # The key column shown NOT NULL: the declared one; a composite or hidden key: none
    # (its columns are marked required below).
    key = None if schema.hidden_key else schema.primary_key
    duck.execute(
        f"INSERT OR REPLACE INTO {SHIM}.namespace_keys VALUES (?, ?, ?)",
        [schema.name, key, options],
    )
    rows = []
    for col in schema.visible:
        notes = []
        if col.is_vector:
            notes.append(f"vector({col.dim}), {opts.metric} distance")
        if col.name in opts.full_text:
            notes.append(f"full text ({opts.language})")
        typid = _DECLARED.get(col.type)
        default = None if col.identity else col.default  # Postgres shows identity apart
        rows.append([schema.name, col.name, typid, "; ".join(notes) or None, default,
                     col.identity, schema.is_required(col)])  # fmt: skip
    duck.execute(f"DELETE FROM {SHIM}.namespace_columns WHERE name = ?", [schema.name])
    if rows:
        duck.executemany(f"INSERT INTO {SHIM}.namespace_columns VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    _register_constraints(schema, duck)


def _register_constraints(schema: Schema, duck: duckdb.DuckDBPyConnection) -> None:
    """One row per constraint (pg_constraints.py), by its columns' numbers: the primary
    key (as declared: none for a table without one), UNIQUE, FOREIGN KEY, CHECK."""
    attnum = {c.name: i + 1 for i, c in enumerate(schema.visible)}  # the view's order
    cons = schema.constraints
    rows: list[list[object]] = []
    if schema.declared_key:
        key = list(schema.declared_key)
        rows.append([schema.name, f"{schema.name}_pkey", "p", key, [attnum[c] for c in key],
                     None, None, None, None])  # fmt: skip
    for u in cons.uniques:
        rows.append([schema.name, u.name, "u", list(u.columns),
                     [attnum[c] for c in u.columns], None, None, None, None])  # fmt: skip
    for fk in cons.foreign_keys:
        rows.append([schema.name, fk.name, "f", list(fk.columns),
                     [attnum[c] for c in fk.columns], fk.table, list(fk.ref_columns),
                     fk.on_delete, None])  # fmt: skip
    for check in cons.checks:
        rows.append([schema.name, check.name, "c", [], [], None, None, None, check.sql])
    duck.execute(f"DELETE FROM {SHIM}.namespace_constraints WHERE name = ?", [schema.name])
    if rows:
        duck.executemany(
            f"INSERT INTO {SHIM}.namespace_constraints VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
