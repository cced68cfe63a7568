"""What the catalog knows of each namespace beyond DuckDB's view of it.

DuckDB sees a namespace as a view: its columns and their DuckDB types. The schema says
more, and the catalog shows it (pg_views.py): the primary key (the view is then a table),
the namespace options as `reloptions` (psql `\\d+` prints them as "Options: metric=l2,
..."), a description of each vector and full-text column (`col_description`, psql's
Description column), and the declared type where DuckDB's differs (JSONB is DuckDB's JSON).
"""

from __future__ import annotations

import duckdb

from ...constraints import Index, IndexKey
from ...schema import Schema
from ..dialect.pg_rewrite import SHIM
from . import pg_types as t
from .pg_comments import TABLE as COMMENTS_TABLE
from .pg_comments import register_comments
from .pg_constraints import TABLE as CONSTRAINTS_TABLE
from .pg_quoting import quote_ident
from .pg_sequences import TABLE as SEQUENCES_TABLE

TABLES = [
    CONSTRAINTS_TABLE,
    COMMENTS_TABLE,
    SEQUENCES_TABLE,
    f"CREATE TABLE IF NOT EXISTS {SHIM}.namespace_keys "
    "(name VARCHAR PRIMARY KEY, key VARCHAR, options VARCHAR[], nspname VARCHAR, "
    "relname VARCHAR)",
    f"CREATE TABLE IF NOT EXISTS {SHIM}.user_schemas (nspname VARCHAR PRIMARY KEY)",
    f"CREATE TABLE IF NOT EXISTS {SHIM}.namespace_columns (name VARCHAR, attname VARCHAR, "
    "typid UINTEGER, description VARCHAR, def VARCHAR, identity VARCHAR, required BOOLEAN, "
    "typmod INTEGER, attnum SMALLINT)",
]
# Declared types DuckDB spells otherwise, as the type OID the catalog shows.
# pgvector's default operator class: Postgres's index text leaves it out.
DEFAULT_OPCLASS = {"hnsw": "vector_l2_ops", "ivfflat": "vector_l2_ops"}
_DECLARED = {"JSONB": t.JSONB, "JSONB[]": t.BY_OID[t.JSONB].array_oid}
_CHAR_TYPES = {"varchar": t.VARCHAR, "bpchar": t.BPCHAR}  # Column.char_kind


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
        f"INSERT OR REPLACE INTO {SHIM}.namespace_keys VALUES (?, ?, ?, ?, ?)",
        [schema.name, key, options, schema.pg_schema, schema.relname],
    )
    rows = []
    for attnum, col in enumerate(schema.visible, 1):  # the view's columns, in order
        notes = []
        if col.is_vector:
            notes.append(f"vector({col.dim}), {opts.metric} distance")
        if col.name in opts.full_text:
            notes.append(f"full text ({opts.language})")
        typid = t.VECTOR if col.pgvector else _DECLARED.get(col.type)
        typmod = None
        if col.char_kind is not None:  # VARCHAR(n): typmod n + 4, as Postgres keeps it
            typid, typmod = _CHAR_TYPES[col.char_kind], col.length + 4 if col.length else -1
        default = None if col.identity else col.default  # Postgres shows identity apart
        # a COMMENT ON COLUMN is its description; else what the column is for searches
        description = schema.comment("column", col.name) or "; ".join(notes) or None
        rows.append([schema.name, col.name, typid, description, default, col.identity,
                     schema.is_required(col), typmod, attnum])  # fmt: skip
    duck.execute(f"DELETE FROM {SHIM}.namespace_columns WHERE name = ?", [schema.name])
    if rows:
        duck.executemany(
            f"INSERT INTO {SHIM}.namespace_columns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
    _register_constraints(schema, duck)
    register_comments(schema, duck)


def _register_constraints(schema: Schema, duck: duckdb.DuckDBPyConnection) -> None:
    """One row per constraint (pg_constraints.py), by its columns' numbers: the primary
    key (as declared: none for a table without one), UNIQUE, FOREIGN KEY, CHECK; and one
    per index CREATE INDEX made (contype 'i', an index without a constraint)."""
    attnum = {c.name: i + 1 for i, c in enumerate(schema.visible)}  # the view's order
    cons = schema.constraints
    rows: list[list[object]] = []

    def key_row(name: str, contype: str, cols: tuple[str, ...] | list[str]) -> list[object]:
        index = Index(name, tuple(IndexKey(c) for c in cols), unique=True)
        return [schema.name, name, contype, list(cols), [attnum[c] for c in cols], None, None,
                None, None, *_index_fields(schema.pg_schema, schema.relname, index)]  # fmt: skip

    if schema.declared_key:
        rows.append(key_row(schema.pkey_name, "p", schema.declared_key))
    # A UNIQUE marked primary is the key ALTER TABLE added (alter_table.py).
    rows += [key_row(u.name, "p" if u.primary else "u", u.columns) for u in cons.uniques]
    for fk in cons.foreign_keys:
        rows.append([schema.name, fk.name, "f", list(fk.columns),
                     [attnum[c] for c in fk.columns], fk.table, list(fk.ref_columns),
                     fk.on_delete, None, *_NO_INDEX])  # fmt: skip
    for check in cons.checks:
        rows.append([schema.name, check.name, "c", [], [], None, None, None, check.sql,
                     *_NO_INDEX])  # fmt: skip
    for index in cons.indexes:
        fields = _index_fields(schema.pg_schema, schema.relname, index)
        rows.append([schema.name, index.name, "i", list(index.columns),
                     [attnum[k.column] if k.column else 0 for k in index.keys], None, None,
                     None, None, *fields])  # fmt: skip
    duck.execute(f"DELETE FROM {SHIM}.namespace_constraints WHERE name = ?", [schema.name])
    if rows:
        marks = ", ".join("?" * len(rows[0]))
        duck.executemany(f"INSERT INTO {SHIM}.namespace_constraints VALUES ({marks})", rows)


_NO_INDEX = [None, None, None, None, None, None]


def _index_fields(pg_schema: str, table: str, index: Index) -> list[object]:
    """indisunique, amname, each key as pg_get_indexdef(i, n) shows it, indoption,
    reloptions, and pg_get_indexdef(i) - Postgres's text of the index."""
    keys = [quote_ident(k.column) if k.column else k.expression for k in index.keys]
    defs = []
    for key, text in zip(index.keys, keys, strict=True):
        if key.opclass and key.opclass != DEFAULT_OPCLASS.get(index.method):
            text += f" {key.opclass}"
        if key.descending:
            text += " DESC" if key.nulls_first else " DESC NULLS LAST"
        elif key.nulls_first:
            text += " NULLS FIRST"
        defs.append(text)
    options = ", ".join("{}='{}'".format(*o.split("=", 1)) for o in index.options)
    with_ = f" WITH ({options})" if options else ""
    indexdef = (
        f"CREATE {'UNIQUE ' if index.unique else ''}INDEX {quote_ident(index.name)} ON "
        f"{quote_ident(pg_schema)}.{quote_ident(table)} USING {index.method} "
        f"({', '.join(defs)}){with_}"
    )
    return [index.unique, index.method, keys, [k.option for k in index.keys],
            list(index.options) or None, indexdef]  # fmt: skip
