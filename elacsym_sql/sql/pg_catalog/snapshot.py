"""The catalog relations every session sees alike, kept as tables rather than views: the
base relations most catalog views join, and the part of pg_class, pg_attribute,
pg_constraint, pg_index and pg_description that is the same for every session (those views
union it with the session's own part and apply its transaction block on top).

DuckDB binds and optimizes the whole stack of catalog views under every client query: as
views, one SQLAlchemy column reflection over 30 tables took ~1.3 s to plan and ~0.1 s to
run. The relations below are rebuilt from their view definitions (kept as `<name>_live`)
when a fingerprint of what they are made of changes: the relations and columns of DuckDB's
main schema (with their comments) and the contents of our own catalog tables (namespace
keys, columns, constraints, types, ...). They read nothing else - no session variable, no
engine statistic, no sequence value - and temporary views of transaction blocks are not in
main. The check is one small prepared query before a statement reads the catalog.
"""

from __future__ import annotations

import threading

import duckdb

from .pg_views import HOME, S

# In the order they are rebuilt: each reads only those before it and our catalog tables.
# The session's temporary relations are not in them (pg_views.py: `rels` is `rels_shared`
# and `rels_temp`, and so on).
BASE_RELATIONS = ("rels_shared", "cols_shared", "cons_shared", "pg_type", "pg_class_shared",
                  "pg_attribute_shared", "pg_constraint_shared", "pg_index_shared",
                  "described_shared", "pg_description_shared")  # fmt: skip
_LIVE = "_live"
_FINGERPRINT = "elacsym_catalog_fingerprint"  # the prepared statement, on the snapshot's cursor

# One hash per relation, column and catalog table row: hashing values rather than their
# text, and preparing the query, took the check from ~8 to ~5.4 ms.
_MAIN_CATALOG = f"""
  SELECT hash('c', table_name, column_name, column_index, data_type, is_nullable,
    column_default, comment) AS part
  FROM duckdb_columns() WHERE database_name = {HOME} AND schema_name = 'main'
  UNION ALL SELECT hash('v', view_name, internal, comment) FROM duckdb_views()
  WHERE database_name = {HOME} AND schema_name = 'main'
  UNION ALL SELECT hash('t', table_name, comment) FROM duckdb_tables()
  WHERE database_name = {HOME} AND schema_name = 'main'"""


class CatalogSnapshot:
    """BASE_RELATIONS as tables, rebuilt when what they are made of changed."""

    def __init__(self, duck: duckdb.DuckDBPyConnection) -> None:
        self._cur = duck.cursor()  # used under the lock only
        self._lock = threading.Lock()
        self._fingerprint: int | None = None

    def install(self) -> None:
        """Turn the installed views into tables of the same name and column types (the
        catalog views over them were bound to those types); once every catalog table
        exists."""
        with self._lock:
            tables = self._cur.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = ?", [S]
            ).fetchall()
            contents = [f"SELECT hash('{t}', r) FROM {S}.{t} AS r" for (t,) in tables]
            parts = "\n  UNION ALL ".join([_MAIN_CATALOG, *contents])
            # Prepared: DuckDB binds and plans it again only when its catalog changed.
            self._cur.execute(
                f"PREPARE {_FINGERPRINT} AS SELECT hash(list(part ORDER BY part)) FROM ({parts})"
            )
            for name in BASE_RELATIONS:
                self._cur.execute(f"ALTER VIEW {S}.{name} RENAME TO {name}{_LIVE}")
                self._run(f"CREATE TABLE {S}.{name} AS SELECT * FROM {S}.{name}{_LIVE}")
            self._fingerprint = self._current()

    def ensure_fresh(self) -> None:
        """Rebuild the tables if the catalog changed since they were built."""
        with self._lock:
            now = self._current()
            if now == self._fingerprint:
                return
            for name in BASE_RELATIONS:
                self._run(f"CREATE OR REPLACE TABLE {S}.{name} AS SELECT * FROM {S}.{name}{_LIVE}")
            self._fingerprint = now

    def _current(self) -> int:
        ((fingerprint,),) = self._run(f"EXECUTE {_FINGERPRINT}")
        return fingerprint

    def _run(self, sql: str) -> list[tuple]:
        # Read to the end: a result left unread keeps its transaction open, and DuckDB then
        # refuses CHECKPOINT once another connection has written.
        return self._cur.execute(sql).fetchall()
