"""COMMENT ON texts as Postgres's catalog shows them: pg_description, obj_description(),
col_description() (decision 0053).

A namespace keeps its comments in its schema (comments.py writes them through the engine);
pg_namespaces.py copies each namespace's into `elacsym_pg.namespace_comments` when its
schema changes, and a column's comment into its description (namespace_columns). DuckDB's
own tables and views (temporary tables, CREATE VIEW) keep theirs in DuckDB's catalog. A
column without a comment describes what it is for searches (its vector metric, its
full-text language) and an index CREATE INDEX recorded says how it is answered: psql shows
both in `\\d+` and `\\di+`.
"""

from __future__ import annotations

import duckdb

from ...schema import Schema
from ..dialect.pg_rewrite import SHIM as S
from .pg_constraints import HIDDEN, constraint_oid, index_oid
from .pg_views import HOME

TABLE = (
    f"CREATE TABLE IF NOT EXISTS {S}.namespace_comments "
    "(name VARCHAR, kind VARCHAR, objname VARCHAR, description VARCHAR)"
)
PG_CLASS, PG_CONSTRAINT = 1259, 2606  # pg_description.classoid of relations, constraints

_INDEX_NOTE = """CASE WHEN amname IN ('hnsw', 'ivfflat')
    THEN 'answered by the namespace''s vector index (per segment, its metric)'
    ELSE 'recorded only: scans filter segments by their statistics' END"""

# The described objects by their relation's name. Kinds: the table, a column, a constraint
# or an index (a key's, or one CREATE INDEX recorded).
_NAMESPACES_DESCRIBED = f"""
SELECT name, 'table' AS kind, NULL AS contype, NULL AS conname, 0 AS objsubid, description
  FROM {S}.namespace_comments WHERE kind = 'table'
UNION ALL
SELECT name, 'column', NULL, NULL, attnum, description FROM {S}.namespace_columns
  WHERE description IS NOT NULL
UNION ALL
SELECT k.name, 'constraint', k.contype, k.conname, 0, c.description
  FROM {S}.namespace_comments c JOIN {S}.namespace_constraints k
    ON k.name = c.name AND k.conname = c.objname AND k.contype <> 'i'
  WHERE c.kind = 'constraint'
UNION ALL
SELECT k.name, 'index', k.contype, k.conname, 0,
  coalesce(c.description, CASE WHEN k.contype = 'i' AND NOT k.indisunique THEN {_INDEX_NOTE}
    END)
FROM {S}.namespace_constraints k LEFT JOIN {S}.namespace_comments c
  ON c.kind = 'index' AND c.name = k.name AND c.objname = k.conname
WHERE k.contype IN ('p', 'u', 'i')
  AND (c.description IS NOT NULL OR (k.contype = 'i' AND NOT k.indisunique))"""


def _duck_described(where: str) -> str:
    """The COMMENT ON texts of DuckDB's own tables, views and their columns (temporary
    ones, CREATE VIEW's) `where` they are."""
    return f"""
SELECT table_name AS name, 'table' AS kind, NULL AS contype, NULL AS conname, 0 AS objsubid,
  comment AS description FROM duckdb_tables() WHERE comment IS NOT NULL AND {where}
UNION ALL
SELECT view_name, 'table', NULL, NULL, 0, comment FROM duckdb_views()
  WHERE comment IS NOT NULL AND NOT internal AND {where}
UNION ALL
SELECT table_name, 'column', NULL, NULL, column_index, comment FROM duckdb_columns()
  WHERE comment IS NOT NULL AND {where}"""


def _pg_description(described: str, rels: str) -> str:
    """pg_description rows of the `described` objects of the relations of view `rels`, each
    with the DuckDB name of its relation (`__name`: the session's transaction block may
    have dropped it)."""
    return f"""
SELECT CASE d.kind
    WHEN 'constraint' THEN {constraint_oid("d.contype", "r.oid", "d.name", "d.conname")}
    WHEN 'index' THEN {index_oid("d.contype", "r.oid", "d.name", "d.conname")}
    ELSE r.oid END AS objoid,
  CASE d.kind WHEN 'constraint' THEN {PG_CONSTRAINT} ELSE {PG_CLASS} END::BIGINT AS classoid,
  d.objsubid, d.description, r.name AS __name
FROM {described} d JOIN {S}.{rels} r ON r.name = d.name"""


# The catalog snapshot covers DuckDB's main schema (snapshot.py), the session's temporary
# objects are its own; DuckDB objects of other schemas are no relations the catalog shows.
_SHARED, _TEMP = f"database_name = {HOME} AND schema_name = 'main'", "database_name = 'temp'"

COMMENT_VIEWS: dict[str, str] = {
    "described_shared": f"{_NAMESPACES_DESCRIBED} UNION ALL {_duck_described(_SHARED)}",
    "pg_description_shared": _pg_description(f"{S}.described_shared", "rels_shared"),
    # As if every described object were matched to `rels` by name: the shared ones to
    # every session's relations (kept), the session's to all, the shared to the session's.
    "pg_description": f"""
SELECT * EXCLUDE (__name) FROM {S}.pg_description_shared
  WHERE NOT list_contains({HIDDEN}, __name)
UNION ALL
SELECT * EXCLUDE (__name) FROM ({_pg_description(f"({_duck_described(_TEMP)})", "rels")})
UNION ALL
SELECT * EXCLUDE (__name) FROM ({_pg_description(f"{S}.described_shared", "rels_temp")})""",
}

COMMENT_MACROS: list[tuple[str, str, str]] = [
    ("obj_description", "obj, cat := NULL",
     f"""(SELECT first(description) FROM {S}.pg_description
        WHERE objoid = obj AND objsubid = 0
          AND (cat IS NULL OR classoid = {S}.regclass_oid(cat)))"""),
    ("col_description", "rel, col",
     f"(SELECT description FROM {S}.cols WHERE attrelid = rel AND attnum = col)"),
    ("shobj_description", "obj, cat", "NULL::VARCHAR"),
]  # fmt: skip


def register_comments(schema: Schema, duck: duckdb.DuckDBPyConnection) -> None:
    """The table's, its constraints' and its indexes' comments (columns': their rows)."""
    duck.execute(f"DELETE FROM {S}.namespace_comments WHERE name = ?", [schema.name])
    rows = [[schema.name, kind, name, text] for kind, name, text in schema.comments
            if kind != "column"]  # fmt: skip
    if rows:
        duck.executemany(f"INSERT INTO {S}.namespace_comments VALUES (?, ?, ?, ?)", rows)
