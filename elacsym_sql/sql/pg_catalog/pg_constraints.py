"""Keys and constraints as pg_constraint, pg_index and their functions show them.

pg_namespaces.py writes one row per constraint of a namespace into
`elacsym_pg.namespace_constraints`: its primary key ('p'), and whatever UNIQUE ('u'),
FOREIGN KEY ('f') and CHECK ('c') constraints its schema has, with the column numbers of
the columns they name, and its indexes without a constraint ('i', from CREATE INDEX).
Everything below reads that table, so psql's `\\d`, pgJDBC's getPrimaryKeys /
getImportedKeys / getExportedKeys / getIndexInfo, SQLAlchemy's reflection and
information_schema agree. Primary and unique keys have an index (relkind 'i') named
after the constraint, as in Postgres; the primary key's OIDs are its table's + 2 (the
constraint) and + 1 (the index), others a hash of their names.
"""

from __future__ import annotations

from ..dialect.pg_rewrite import SHIM as S

TABLE = (
    f"CREATE TABLE IF NOT EXISTS {S}.namespace_constraints (name VARCHAR, conname VARCHAR, "
    "contype VARCHAR, cols VARCHAR[], attnums SMALLINT[], ref_table VARCHAR, "
    "ref_cols VARCHAR[], deltype VARCHAR, definition VARCHAR, indisunique BOOLEAN, "
    "amname VARCHAR, keys VARCHAR[], indoption SMALLINT[], reloptions VARCHAR[], "
    "indexdef VARCHAR)"
)

# The tables the session's transaction block dropped (at its COMMIT; transactions.py sets
# the variable): gone for it, though every other session still sees them.
HIDDEN = "coalesce(getvariable('elacsym_hidden'), []::VARCHAR[])"
_HASH = "(hash({}) % 1000000000)::BIGINT + 100000"


def _indexdef(unique: str, name: str, table: str, cols: str) -> str:
    """SQL of pg_get_indexdef's text of an index of a temporary table (names as they are:
    quote_ident's macro costs more to bind than the rest of the catalog view)."""
    return (f"'CREATE ' || CASE WHEN {unique} THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || "
            f"{name} || ' ON pg_temp.' || {table} || "
            f"' USING btree (' || array_to_string({cols}, ', ') || ')'")  # fmt: skip


# The primary keys and indexes of the session's temporary tables (DuckDB's own; their
# UNIQUE constraints keep no name in DuckDB, so they are not shown), as rows of the table.
_TEMP = f"""
SELECT table_name AS name, table_name || '_pkey' AS conname, 'p' AS contype,
  constraint_column_names AS cols,
  list_transform(constraint_column_indexes, lambda i: (i + 1)::SMALLINT) AS attnums,
  NULL::VARCHAR AS ref_table, NULL::VARCHAR[] AS ref_cols, NULL::VARCHAR AS deltype,
  NULL::VARCHAR AS definition, true AS indisunique, 'btree' AS amname,
  constraint_column_names AS keys,
  list_transform(constraint_column_names, lambda c: 0::SMALLINT) AS indoption,
  NULL::VARCHAR[] AS reloptions,
  {_indexdef("true", "table_name || '_pkey'", "table_name", "constraint_column_names")}
    AS indexdef, true AS temp
FROM duckdb_constraints() WHERE database_name = 'temp' AND constraint_type = 'PRIMARY KEY'
UNION ALL
SELECT i.table_name, i.index_name, 'i', i.cols,
  list(c.column_index::SMALLINT ORDER BY list_position(i.cols, c.column_name)),
  NULL, NULL, NULL, NULL, i.is_unique, 'btree', i.cols,
  list_transform(i.cols, lambda c: 0::SMALLINT), NULL,
  {_indexdef("i.is_unique", "i.index_name", "i.table_name", "i.cols")}, true
FROM (SELECT table_name, index_name, is_unique,
    string_split(trim(expressions, '[]'), ', ') AS cols
  FROM duckdb_indexes() WHERE database_name = 'temp') i
JOIN duckdb_columns() c ON c.database_name = 'temp' AND c.table_name = i.table_name
  AND list_contains(i.cols, c.column_name)
GROUP BY i.table_name, i.index_name, i.is_unique, i.cols"""


def constraint_oid(contype: str, reloid: str, table: str, conname: str) -> str:
    """SQL of a constraint's OID: its table's + 2 for the primary key, else a hash."""
    hashed = _HASH.format(f"{table} || '.' || {conname}")
    return f"CASE WHEN {contype} = 'p' THEN {reloid} + 2 ELSE {hashed} END"


def index_oid(contype: str, reloid: str, table: str, conname: str) -> str:
    """SQL of the OID of a key's or index's index: the table's + 1 for the primary key."""
    hashed = _HASH.format(f"{table} || '.' || {conname} || '.index'")
    return (f"CASE WHEN {contype} = 'p' THEN {reloid} + 1 WHEN {contype} IN ('u', 'i') "
            f"THEN {hashed} ELSE 0 END::BIGINT")  # fmt: skip


def _cons(constraints: str, rels: str) -> str:
    """`cons` rows of constraint rows (namespace_constraints's columns) of relations `rels`."""
    return f"""
SELECT k.*, r.oid AS conrelid, r.nspname, r.nspoid, r.relname,
  {constraint_oid("k.contype", "r.oid", "k.name", "k.conname")} AS oid,
  {index_oid("k.contype", "r.oid", "k.name", "k.conname")} AS indexoid
FROM ({constraints}) k JOIN {S}.{rels} r ON r.name = k.name
"""


def _pg_constraint(cons: str, extra: str = "") -> str:
    """pg_constraint rows of the constraints of view `cons` (with `extra` columns), each
    with the table a foreign key references (`__ref`). That is a namespace, never a
    temporary table: it is found among the relations of every session."""
    extra = f", {extra}" if extra else ""
    return f"""
SELECT oid, conname, nspoid AS connamespace, contype, false AS condeferrable,
  false AS condeferred, true AS convalidated, conrelid, 0::BIGINT AS contypid,
  coalesce((SELECT fr.oid FROM {S}.rels_shared fr WHERE fr.name = k.ref_table), 0)::BIGINT
    AS confrelid,
  -- a foreign key's index is the referenced primary key's (pgJDBC joins on it)
  CASE WHEN contype = 'f' THEN
    coalesce((SELECT fr.oid + 1 FROM {S}.rels_shared fr WHERE fr.name = k.ref_table), 0)
    ELSE indexoid END::BIGINT AS conindid, 0::BIGINT AS conparentid,
  CASE WHEN contype = 'f' THEN 'a' ELSE ' ' END AS confupdtype,
  CASE WHEN contype <> 'f' THEN ' ' WHEN deltype = 'restrict' THEN 'r' ELSE 'a' END
    AS confdeltype,
  CASE WHEN contype = 'f' THEN 's' ELSE ' ' END AS confmatchtype,
  true AS conislocal, 0 AS coninhcount, true AS connoinherit, attnums AS conkey,
  (SELECT list(c.attnum ORDER BY list_position(k.ref_cols, c.attname)) FROM {S}.cols_shared c
    WHERE c.name = k.ref_table AND list_contains(k.ref_cols, c.attname)) AS confkey,
  NULL::BIGINT[] AS conpfeqop, NULL::BIGINT[] AS conppeqop, NULL::BIGINT[] AS conffeqop,
  NULL::SMALLINT[] AS confdelsetcols, NULL::BIGINT[] AS conexclop,
  definition AS conbin, 2606::BIGINT AS tableoid, ref_table AS __ref{extra}
FROM {S}.{cons} k WHERE contype <> 'i'"""


def _pg_index(cons: str) -> str:
    """pg_index rows of the keys and indexes of view `cons`."""
    return f"""
SELECT indexoid AS indexrelid, conrelid AS indrelid, len(attnums)::SMALLINT AS indnatts,
  len(attnums)::SMALLINT AS indnkeyatts, indisunique,
  false AS indnullsnotdistinct, contype = 'p' AS indisprimary, false AS indisexclusion,
  true AS indimmediate, false AS indisclustered, true AS indisvalid, false AS indcheckxmin,
  true AS indisready, true AS indislive, false AS indisreplident,
  -- int2vector and oidvector, as pg_types.py spells them (SQLAlchemy reads their text)
  attnums::USMALLINT[] AS indkey,
  list_transform(attnums, lambda a: 0)::UBIGINT[] AS indcollation,
  list_transform(attnums, lambda a: 0)::UBIGINT[] AS indclass,
  indoption::USMALLINT[] AS indoption,
  NULL::VARCHAR AS indexprs, NULL::VARCHAR AS indpred
FROM {S}.{cons} WHERE contype IN ('p', 'u', 'i')"""


def index_rels(cons: str) -> str:
    """The index rows of pg_class (pg_views.py unions them with the tables) of the keys and
    indexes of relation `cons` (rows of a `cons` view)."""
    return f"""
SELECT indexoid AS oid, conname AS relname, name AS table_name, amname, reloptions, nspoid,
  temp FROM {cons} WHERE contype IN ('p', 'u', 'i')"""


def _names(column: str) -> str:
    """SQL of a list column's names, each as quote_ident writes it, comma-separated."""
    return f"array_to_string(list_transform({column}, lambda c: main.quote_ident(c)), ', ')"


def _definition(k: str) -> str:
    """SQL of pg_get_constraintdef's text of constraint row `k` of a `cons` view: names
    quoted as Postgres quotes them (SQLAlchemy parses this text with a regular expression),
    the referenced table (a namespace) qualified when it is not in public."""
    return f"""CASE {k}.contype
        WHEN 'p' THEN 'PRIMARY KEY (' || {_names(f"{k}.cols")} || ')'
        WHEN 'u' THEN 'UNIQUE (' || {_names(f"{k}.cols")} || ')'
        WHEN 'f' THEN 'FOREIGN KEY (' || {_names(f"{k}.cols")} || ') REFERENCES '
          || (SELECT CASE WHEN fr.nspname = 'public' THEN ''
                ELSE main.quote_ident(fr.nspname) || '.' END || main.quote_ident(fr.relname)
              FROM {S}.rels_shared fr WHERE fr.name = {k}.ref_table)
          || '(' || {_names(f"{k}.ref_cols")} || ')'
          || CASE WHEN {k}.deltype = 'restrict' THEN ' ON DELETE RESTRICT' ELSE '' END
        ELSE 'CHECK (' || {k}.definition || ')' END"""


CONSTRAINT_VIEWS: dict[str, str] = {
    # Those of every session (snapshot.py keeps them as a table) and the session's own.
    "cons_shared": _cons(f"SELECT *, false AS temp FROM {S}.namespace_constraints", "rels_shared"),
    "cons_temp": _cons(_TEMP, "rels_temp"),
    "cons": f"SELECT * FROM {S}.cons_shared UNION ALL SELECT * FROM {S}.cons_temp",
    # The constraints and indexes of every session as tables (snapshot.py), with what the
    # session's transaction block dropped applied on top; then the session's own.
    "pg_constraint_shared": _pg_constraint("cons_shared", f"{_definition('k')} AS __def"),
    "pg_constraint": f"""
SELECT * EXCLUDE (__ref, __def) REPLACE (
    CASE WHEN list_contains({HIDDEN}, __ref) THEN 0 ELSE confrelid END AS confrelid,
    CASE WHEN list_contains({HIDDEN}, __ref) THEN 0 ELSE conindid END AS conindid)
  FROM {S}.pg_constraint_shared
UNION ALL SELECT * EXCLUDE (__ref) FROM ({_pg_constraint("cons_temp")})""",
    "pg_index_shared": _pg_index("cons_shared"),
    "pg_index": f"SELECT * FROM {S}.pg_index_shared UNION ALL {_pg_index('cons_temp')}",
    "pg_indexes": f"""SELECT nspname AS schemaname, relname AS tablename, conname AS indexname,
        NULL::VARCHAR AS tablespace, indexdef
        FROM {S}.cons WHERE contype IN ('p', 'u', 'i')""",
    "information_schema_table_constraints": f"""
SELECT {S}.current_database() AS constraint_catalog, nspname AS constraint_schema,
  conname AS constraint_name, {S}.current_database() AS table_catalog,
  nspname AS table_schema, relname AS table_name,
  CASE contype WHEN 'p' THEN 'PRIMARY KEY' WHEN 'u' THEN 'UNIQUE' WHEN 'f' THEN 'FOREIGN KEY'
    ELSE 'CHECK' END AS constraint_type,
  'NO' AS is_deferrable, 'NO' AS initially_deferred, 'YES' AS enforced
FROM {S}.cons WHERE contype <> 'i'""",
    "information_schema_key_column_usage": f"""
SELECT {S}.current_database() AS constraint_catalog, nspname AS constraint_schema,
  conname AS constraint_name, {S}.current_database() AS table_catalog,
  nspname AS table_schema, relname AS table_name, unnest(cols) AS column_name,
  unnest(range(1, len(cols) + 1)) AS ordinal_position,
  unnest(CASE WHEN contype = 'f' THEN range(1, len(cols) + 1)
    ELSE list_transform(cols, lambda c: NULL) END)
    ::INTEGER AS position_in_unique_constraint
FROM {S}.cons WHERE contype IN ('p', 'u', 'f')""",
}


# By (name, parameters, body), as pg_views.MACROS.
CONSTRAINT_MACROS: list[tuple[str, str, str]] = [
    ("pg_get_indexdef", "idx, col := 0, pretty := false",
     f"""(SELECT CASE WHEN col > 0 THEN keys[col] ELSE indexdef END
        FROM {S}.cons WHERE indexoid = idx AND contype IN ('p', 'u', 'i'))"""),
    # The definitions of every session's constraints are kept (snapshot.py); a foreign key
    # to a table the session's transaction block dropped has none.
    ("pg_get_constraintdef", "con, pretty := false",
     f"""coalesce((SELECT CASE WHEN list_contains({HIDDEN}, __ref) THEN NULL ELSE __def END
        FROM {S}.pg_constraint_shared WHERE oid = con),
        (SELECT {_definition("k")} FROM {S}.cons_temp k WHERE oid = con))"""),
    # Postgres's set-returning (x, n) per array element (pgJDBC's getPrimaryKeys,
    # getIndexInfo): an unnest, several rows in a select list as in Postgres.
    ("information_schema__pg_expandarray", "arr",
     "unnest(list_transform(arr, lambda v, i: {'x': v, 'n': i}))"),
]  # fmt: skip
