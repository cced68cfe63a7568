"""The catalog's two base relations, `rels` and `cols` (pg_views.py), kept as tables.

DuckDB binds and optimizes the whole stack of catalog views under every client query, and
`rels`/`cols` sit under nearly all of them: as views, one SQLAlchemy column reflection over
30 tables took ~1.3 s to plan and ~0.1 s to run; with both as tables, ~0.3 s. They are
rebuilt from their view definitions (kept as `rels_live`/`cols_live`) when a fingerprint of
what they are made of changes: the relations and columns of DuckDB's main schema and our
namespace key/column tables. Nothing else feeds them (temporary views of transaction blocks
are not in main), and the check is one small query before a statement reads the catalog.
"""

from __future__ import annotations

import threading

import duckdb

from .pg_views import HOME, S

# `cols` reads `rels`: rebuilt in this order.
BASE_RELATIONS = ("rels", "cols")
_LIVE = "_live"

_FINGERPRINT = f"""
SELECT hash(list(part ORDER BY part)) FROM (
  SELECT concat_ws('|', 'c', table_name, column_name, column_index, data_type, is_nullable,
    column_default, comment) AS part
  FROM duckdb_columns() WHERE database_name = {HOME} AND schema_name = 'main'
  UNION ALL SELECT concat_ws('|', 'v', view_name, internal) FROM duckdb_views()
  WHERE database_name = {HOME} AND schema_name = 'main'
  UNION ALL SELECT concat_ws('|', 't', table_name) FROM duckdb_tables()
  WHERE database_name = {HOME} AND schema_name = 'main'
  UNION ALL SELECT 'k|' || CAST(k AS VARCHAR) FROM {S}.namespace_keys AS k
  UNION ALL SELECT 'n|' || CAST(n AS VARCHAR) FROM {S}.namespace_columns AS n)
"""


class CatalogSnapshot:
    """`rels` and `cols` as tables, rebuilt when what they are made of changed."""

    def __init__(self, duck: duckdb.DuckDBPyConnection) -> None:
        self._cur = duck.cursor()  # used under the lock only
        self._lock = threading.Lock()
        self._fingerprint: int | None = None

    def install(self) -> None:
        """Turn the installed views into tables of the same name and column types (the
        catalog views over them were bound to those types)."""
        with self._lock:
            for name in BASE_RELATIONS:
                self._cur.execute(f"ALTER VIEW {S}.{name} RENAME TO {name}{_LIVE}")
                self._cur.execute(f"CREATE TABLE {S}.{name} AS SELECT * FROM {S}.{name}{_LIVE}")
            self._fingerprint = self._current()

    def ensure_fresh(self) -> None:
        """Rebuild the tables if the catalog changed since they were built."""
        with self._lock:
            now = self._current()
            if now == self._fingerprint:
                return
            for name in BASE_RELATIONS:
                self._cur.execute(
                    f"CREATE OR REPLACE TABLE {S}.{name} AS SELECT * FROM {S}.{name}{_LIVE}"
                )
            self._fingerprint = now

    def _current(self) -> int:
        row = self._cur.execute(_FINGERPRINT).fetchone()
        assert row is not None
        return row[0]
