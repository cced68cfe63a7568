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
    f"CREATE TABLE IF NOT EXISTS {SHIM}.namespace_columns "
    "(name VARCHAR, attname VARCHAR, typid UINTEGER, description VARCHAR)",
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
    duck.execute(
        f"INSERT OR REPLACE INTO {SHIM}.namespace_keys VALUES (?, ?, ?)",
        [schema.name, schema.primary_key, options],
    )
    rows = []
    for col in schema.columns:
        notes = []
        if col.is_vector:
            notes.append(f"vector({col.dim}), {opts.metric} distance")
        if col.name in opts.full_text:
            notes.append(f"full text ({opts.language})")
        typid = _DECLARED.get(col.type)
        if notes or typid is not None:
            rows.append([schema.name, col.name, typid, "; ".join(notes) or None])
    duck.execute(f"DELETE FROM {SHIM}.namespace_columns WHERE name = ?", [schema.name])
    if rows:
        duck.executemany(f"INSERT INTO {SHIM}.namespace_columns VALUES (?, ?, ?, ?)", rows)
    _register_constraints(schema, duck)


def _register_constraints(schema: Schema, duck: duckdb.DuckDBPyConnection) -> None:
    """One row per constraint (pg_constraints.py): the primary key, by its column numbers."""
    attnum = {name: i + 1 for i, name in enumerate(schema.names)}  # the view's column order
    key = [schema.primary_key]
    rows = [[schema.name, f"{schema.name}_pkey", "p", key, [attnum[c] for c in key],
             None, None, None, None]]  # fmt: skip
    duck.execute(f"DELETE FROM {SHIM}.namespace_constraints WHERE name = ?", [schema.name])
    duck.executemany(
        f"INSERT INTO {SHIM}.namespace_constraints VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )
