"""The catalog relations and functions Postgres clients read, as DuckDB views and macros in
schema `elacsym_pg` (pg_rewrite.py points client SQL here).

Namespaces are tables (relkind 'r') in schema `public` (DuckDB's `main`), each with its
primary key index `<name>_pkey`; other DuckDB tables and views in main show as tables and
views. OIDs of relations are a hash of their name, stable across restarts. Column types are
the Postgres types the wire server sends for them (sql/pg_catalog/pg_types.py).
"""

from __future__ import annotations

from .pg_constraints import HIDDEN, index_rels
from .pg_sequences import SEQUENCE_RELS
from .pg_types import PG_CHAR

S = "elacsym_pg"
PUBLIC, PG_CATALOG, INFO_SCHEMA, OWNER = 2200, 11, 13000, 10
# The BIGINT columns below that are int8 in Postgres; every other one is an OID and is
# typed as one when installed (install.py).
INT8_COLUMNS = frozenset({"seqstart", "seqincrement", "seqmax", "seqmin", "seqcache"})


def _empty(columns: str) -> str:
    """A view with these `name TYPE` columns and no rows."""
    cols = ", ".join(
        f"NULL::{c.split()[1]} AS {c.split()[0]}" for c in columns.split(",") if c.strip()
    )
    return f"SELECT {cols} WHERE false"


# DuckDB's name of the database holding the namespaces (unqualified current_database()
# inside these views would be our macro, which answers the Postgres name).
HOME = f"(SELECT database_name FROM duckdb_schemas() WHERE schema_name = '{S}')"


# Relations of DuckDB's main schema: namespaces (registered), DuckDB tables and views.
# A namespace of another schema than public is named "<schema>.<table>" (decision 0033).
def nsp_oid(nspname: str) -> str:
    """The OID of a schema, by its name (public's is Postgres's 2200)."""
    hashed = f"(hash({nspname}) % 1000000)::BIGINT + 20000"
    return f"CASE WHEN {nspname} = 'public' THEN {PUBLIC} ELSE {hashed} END"


# The session's temporary tables and views (DuckDB's, per connection) are in Postgres's
# temporary schema of a session (decision 0055).
TEMP_SCHEMA = "pg_temp_3"


def _view_definition(rel: str) -> str:
    """The query of the view whose OID is `rel`, as DuckDB keeps it (its own spelling, not
    Postgres's deparse; psql's `\\d+` shows it)."""
    return f"""(SELECT ' ' || regexp_replace(v.sql, '^CREATE (TEMP |TEMPORARY )?VIEW .*? AS ', '')
        FROM duckdb_views() v JOIN {S}.rels __r ON __r.name = v.view_name
          AND __r.temp = v.temporary
        WHERE __r.oid = {rel} AND __r.kind = 'v' AND v.schema_name = 'main'
          AND NOT v.internal LIMIT 1)"""


def _rels(relations: str) -> str:
    """`rels` rows of (name, kind, key, options, nspname, relname, temp) rows."""
    return f"""
SELECT name, kind, (hash(CASE WHEN temp THEN 'pg_temp.' ELSE '' END || name)
    % 1000000000)::BIGINT + 100000 AS oid, key, options,
  coalesce(nspname, 'public') AS nspname, coalesce(relname, name) AS relname,
  {nsp_oid("coalesce(nspname, 'public')")} AS nspoid, temp FROM ({relations})"""


# The relations every session sees (snapshot.py keeps them as a table) and those of the
# session (its temporary tables and views); `rels` is both.
_SHARED_RELS = _rels(f"""
  SELECT v.view_name AS name, CASE WHEN k.name IS NULL THEN 'v' ELSE 'r' END AS kind, k.key,
    k.options, coalesce(k.nspname, us.nspname) AS nspname,
    coalesce(k.relname, v.view_name[length(us.nspname) + 2:]) AS relname, false AS temp
  FROM duckdb_views() v LEFT JOIN {S}.namespace_keys k ON k.name = v.view_name
  LEFT JOIN {S}.user_schemas us  -- a view of schema s is named "s.v", as tables (0033)
    ON k.name IS NULL AND starts_with(v.view_name, us.nspname || '.')
  WHERE v.database_name = {HOME} AND v.schema_name = 'main' AND NOT v.internal
    AND NOT starts_with(v.view_name, '__elacsym')  -- a namespace's view with its hidden key
  UNION ALL
  SELECT table_name, 'r', NULL, NULL, NULL, NULL, false FROM duckdb_tables()
  WHERE database_name = {HOME} AND schema_name = 'main' AND NOT internal""")
_TEMP_RELS = _rels(f"""
  SELECT table_name AS name, 'r' AS kind, NULL::VARCHAR AS key, NULL::VARCHAR[] AS options,
    '{TEMP_SCHEMA}' AS nspname, NULL::VARCHAR AS relname, true AS temp FROM duckdb_tables()
  WHERE database_name = 'temp' AND NOT internal AND NOT starts_with(table_name, '__elacsym')
  UNION ALL  -- not the views a transaction block shows its snapshot of a namespace in
  SELECT view_name, 'v', NULL, NULL, '{TEMP_SCHEMA}', NULL, true FROM duckdb_views()
  WHERE database_name = 'temp' AND NOT internal AND NOT starts_with(view_name, '__elacsym')
    AND view_name NOT IN (SELECT name FROM {S}.namespace_keys)""")


def _cols(rels: str, database: str) -> str:
    """`cols` rows of the relations of view `rels`, whose columns DuckDB keeps in `database`."""
    return rf"""
SELECT r.oid AS attrelid, r.name, r.relname, r.nspname, r.kind, c.column_name AS attname,
  c.column_index::SMALLINT AS attnum,
  coalesce(nc.typid, __elacsym_pg_oid(c.data_type)) AS atttypid,
  coalesce(nc.description, c.comment) AS description,
  CASE WHEN nc.typmod IS NOT NULL THEN nc.typmod
    WHEN nc.typid = 16401  -- pgvector's typmod is the dimension
    THEN regexp_extract(c.data_type, '\[([0-9]+)\]', 1)::INTEGER
    ELSE __elacsym_pg_typmod(c.data_type) END AS atttypmod, c.data_type,
  (coalesce(c.column_name = r.key, false) OR NOT c.is_nullable
    OR coalesce(nc.required, false)) AS attnotnull,
  coalesce(nc.def, c.column_default) AS column_default, nc.identity
FROM {S}.{rels} r JOIN duckdb_columns() c ON c.table_name = r.name
  AND c.database_name = {database} AND c.schema_name = 'main'
  LEFT JOIN {S}.namespace_columns nc ON nc.name = r.name AND nc.attname = c.column_name
"""


def _pg_class(rels: str, cons: str) -> str:
    """pg_class rows of the relations of view `rels` and the indexes of their keys (view
    `cons`), each with the DuckDB name of its relation (`__name`; NULL for an index): the
    rows of the relations a transaction block dropped are left out by it."""
    return f"""
WITH k AS MATERIALIZED (SELECT * FROM {S}.{cons})  -- bound once (DuckDB binds each reference)
SELECT oid, relname, nspoid AS relnamespace, 0::BIGINT AS reltype,
  0::BIGINT AS reloftype, {OWNER}::BIGINT AS relowner,
  CASE WHEN kind = 'r' THEN 2 ELSE 0 END::BIGINT AS relam, oid AS relfilenode,
  0::BIGINT AS reltablespace, 0 AS relpages, -1::FLOAT AS reltuples, 0 AS relallvisible,
  0::BIGINT AS reltoastrelid, oid IN (SELECT conrelid FROM k WHERE indexoid > 0)
    AS relhasindex, false AS relisshared,
  CASE WHEN temp THEN 't' ELSE 'p' END AS relpersistence, kind AS relkind,
  0::SMALLINT AS relnatts,
  -- psql lists CHECK constraints only when relchecks > 0, and foreign keys (both ways)
  -- only when relhastriggers: Postgres enforces them with triggers
  (SELECT count(*) FROM {S}.namespace_constraints k WHERE k.name = r.name
    AND k.contype = 'c')::SMALLINT AS relchecks,
  false AS relhasrules,
  EXISTS (SELECT 1 FROM {S}.namespace_constraints k WHERE k.contype = 'f'
    AND (k.name = r.name OR k.ref_table = r.name)) AS relhastriggers,
  false AS relhassubclass,
  false AS relrowsecurity, false AS relforcerowsecurity, true AS relispopulated,
  'd' AS relreplident, false AS relispartition, 0::BIGINT AS relrewrite,
  0::BIGINT AS relfrozenxid, 0::BIGINT AS relminmxid, NULL::VARCHAR[] AS relacl,
  options AS reloptions, NULL::VARCHAR AS relpartbound, name AS __name
FROM {S}.{rels} r
UNION ALL
SELECT oid, relname, nspoid, 0, 0, {OWNER},
  (SELECT am.oid FROM {S}.pg_am am WHERE am.amname = i.amname), oid, 0, 1, 0, 0, 0,
  false, false, CASE WHEN temp THEN 't' ELSE 'p' END, 'i', 1, 0, false, false, false, false,
  false, true, 'n', false, 0, 0, 0, NULL, reloptions, NULL, NULL
FROM ({index_rels("k")}) i"""


def _shown(row: str) -> str:
    """SQL: whether pg_class_shared's `row` is a row the session sees."""
    return f"({row}.__name IS NULL OR NOT list_contains({HIDDEN}, {row}.__name))"


# pg_class rows of the durable sequences (pg_sequences.py).
_SEQUENCE_CLASS = f"""
SELECT oid, relname, {nsp_oid("nspname")}, 0, 0, {OWNER}, 0, oid, 0, 1, 1, 0, 0, false, false,
  'p', 'S', 3, 0, false, false, false, false, false, true, 'n', false, 0, 0, 0, NULL, NULL, NULL,
  NULL FROM ({SEQUENCE_RELS})"""


def _pg_attribute(cols: str) -> str:
    """pg_attribute rows of the columns of view `cols`."""
    return f"""
SELECT attrelid, attname, atttypid, -1 AS attstattarget,
  coalesce((SELECT typlen FROM {S}.pg_type t WHERE t.oid = atttypid), -1)::SMALLINT AS attlen,
  attnum, CASE WHEN data_type LIKE '%]' THEN 1 ELSE 0 END::SMALLINT AS attndims,
  -1 AS attcacheoff, atttypmod, false AS attbyval, 'd' AS attalign,
  coalesce((SELECT typstorage FROM {S}.pg_type t WHERE t.oid = atttypid), 'x') AS attstorage,
  '' AS attcompression, attnotnull, column_default IS NOT NULL AS atthasdef,
  false AS atthasmissing,
  CASE identity WHEN 'always' THEN 'a' WHEN 'by default' THEN 'd' ELSE '' END AS attidentity,
  '' AS attgenerated, false AS attisdropped, true AS attislocal,
  0 AS attinhcount, CASE WHEN atttypid = 25 THEN 100 ELSE 0 END::BIGINT AS attcollation,
  NULL::VARCHAR[] AS attacl, NULL::VARCHAR[] AS attoptions, NULL::VARCHAR[] AS attfdwoptions,
  NULL::VARCHAR AS attmissingval
FROM {S}.{cols}"""


VIEWS: dict[str, str] = {
    "rels_shared": _SHARED_RELS,
    "rels_temp": _TEMP_RELS,
    "rels": f"""SELECT * FROM {S}.rels_shared WHERE NOT list_contains({HIDDEN}, name)
        UNION ALL SELECT * FROM {S}.rels_temp""",
    "cols_shared": _cols("rels_shared", HOME),
    "cols_temp": _cols("rels_temp", "'temp'"),
    "cols": f"SELECT * FROM {S}.cols_shared UNION ALL SELECT * FROM {S}.cols_temp",
    "pg_namespace": f"""SELECT * FROM (VALUES ({PG_CATALOG}::BIGINT, 'pg_catalog', {OWNER}::BIGINT),
        ({PUBLIC}, 'public', {OWNER}), ({INFO_SCHEMA}, 'information_schema', {OWNER}))
        AS t(oid, nspname, nspowner), (SELECT NULL::VARCHAR[] AS nspacl)
        UNION ALL SELECT {nsp_oid("nspname")}, nspname, {OWNER}, NULL
        FROM (SELECT nspname FROM {S}.user_schemas UNION ALL SELECT '{TEMP_SCHEMA}')""",
    # The rows of every session as a table (snapshot.py), those the session's transaction
    # block dropped left out; then the session's temporary relations and their indexes.
    "pg_class_shared": f"{_pg_class('rels_shared', 'cons_shared')} UNION ALL {_SEQUENCE_CLASS}",
    "pg_class": f"""SELECT * EXCLUDE (__name) FROM {S}.pg_class_shared
        WHERE {_shown("pg_class_shared")}
        UNION ALL SELECT * EXCLUDE (__name) FROM ({_pg_class("rels_temp", "cons_temp")})""",
    "pg_attribute_shared": _pg_attribute("cols_shared"),
    "pg_attribute": f"""SELECT * FROM {S}.pg_attribute_shared
        UNION ALL {_pg_attribute("cols_temp")}""",
    "pg_type": f"""
SELECT oid, typname,
  CASE WHEN typname IN ('vector', '_vector') OR typtype = 'e' THEN {PUBLIC} ELSE {PG_CATALOG}
    END::BIGINT AS typnamespace, {OWNER}::BIGINT AS typowner,
  typlen::SMALLINT AS typlen, typlen > 0 AND typlen <= 8 AS typbyval,
  typtype::{PG_CHAR} AS typtype,
  typcategory, false AS typispreferred, true AS typisdefined, ',' AS typdelim,
  0::BIGINT AS typrelid, 0::BIGINT AS typsubscript, typelem, typarray,
  -- regproc columns hold the function's name (pg_literals.py reads 'x'::regproc so)
  CASE typcategory WHEN 'A' THEN 'array' WHEN 'E' THEN 'enum' ELSE typname END AS __fn,
  __fn || '_in' AS typinput, __fn || '_out' AS typoutput, __fn || '_recv' AS typreceive,
  __fn || '_send' AS typsend, '-' AS typmodin, '-' AS typmodout, '-' AS typanalyze,
  'i' AS typalign,
  CASE WHEN typlen > 0 THEN 'p' WHEN oid = 1700 THEN 'm' ELSE 'x' END AS typstorage,
  false AS typnotnull, 0::BIGINT AS typbasetype,
  -1 AS typtypmod, 0 AS typndims,
  CASE WHEN oid IN (25, 1043, 1042, 19) THEN 100 ELSE 0 END::BIGINT AS typcollation,
  NULL::VARCHAR AS typdefaultbin, NULL::VARCHAR AS typdefault, NULL::VARCHAR[] AS typacl
FROM {S}.types""",
    "pg_database": f"""
SELECT 16384::BIGINT AS oid, {S}.current_database() AS datname, {OWNER}::BIGINT AS datdba,
  6 AS encoding, 'c' AS datlocprovider, false AS datistemplate, true AS datallowconn,
  -1 AS datconnlimit, 0::BIGINT AS datfrozenxid, 0::BIGINT AS datminmxid,
  1663::BIGINT AS dattablespace, 'C' AS datcollate, 'C' AS datctype,
  NULL::VARCHAR AS daticulocale, NULL::VARCHAR AS datcollversion, NULL::VARCHAR[] AS datacl""",
    "pg_roles": f"""
SELECT {S}.session_user_name() AS rolname, true AS rolsuper, true AS rolinherit,
  true AS rolcreaterole,
  true AS rolcreatedb, true AS rolcanlogin, true AS rolreplication, -1 AS rolconnlimit,
  '********' AS rolpassword, NULL::TIMESTAMP AS rolvaliduntil, true AS rolbypassrls,
  NULL::VARCHAR[] AS rolconfig, {OWNER}::BIGINT AS oid""",
    "pg_authid": f"SELECT oid, rolname, rolsuper, rolcanlogin FROM {S}.pg_roles",
    "pg_user": f"""SELECT rolname AS usename, oid AS usesysid, true AS usecreatedb,
        true AS usesuper, false AS userepl, false AS usebypassrls, '********' AS passwd,
        NULL::TIMESTAMP AS valuntil, NULL::VARCHAR[] AS useconfig FROM {S}.pg_roles""",
    # Postgres's OIDs; pgvector's methods get theirs when it is installed: any free ones.
    "pg_am": """SELECT * FROM (VALUES (403::BIGINT, 'btree', 'i'), (2, 'heap', 't'),
          (405, 'hash', 'i'), (783, 'gist', 'i'), (2742, 'gin', 'i'), (4000, 'spgist', 'i'),
          (3580, 'brin', 'i'), (16500, 'hnsw', 'i'), (16501, 'ivfflat', 'i'))
        AS t(oid, amname, amtype), (SELECT 'handler' AS amhandler)""",
    "pg_tables": f"""SELECT n.nspname AS schemaname, relname AS tablename,
        {S}.session_user_name() AS tableowner,
        NULL::VARCHAR AS tablespace, relhasindex AS hasindexes, false AS hasrules,
        false AS hastriggers, false AS rowsecurity FROM {S}.pg_class
        JOIN {S}.pg_namespace n ON n.oid = relnamespace WHERE relkind = 'r'""",
    "pg_views": f"""SELECT n.nspname AS schemaname, c.relname AS viewname,
        {S}.session_user_name() AS viewowner,
        {_view_definition("c.oid")} AS definition FROM {S}.pg_class c
        JOIN {S}.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v'""",
    "pg_shdescription": _empty("objoid BIGINT, classoid BIGINT, description VARCHAR"),
    "pg_attrdef": f"""SELECT (hash(attrelid, attnum) % 1000000000)::BIGINT + 1100000000 AS oid,
        attrelid AS adrelid,
        attnum AS adnum, column_default AS adbin FROM {S}.cols
        WHERE column_default IS NOT NULL""",
    "pg_inherits": _empty(
        "inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN"
    ),
    "pg_policy": _empty(
        "oid BIGINT, polname VARCHAR, polrelid BIGINT, polcmd VARCHAR, polpermissive BOOLEAN,"
        "polroles BIGINT[], polqual VARCHAR, polwithcheck VARCHAR"
    ),
    "pg_statistic_ext": _empty(
        "oid BIGINT, stxrelid BIGINT, stxname VARCHAR, stxnamespace BIGINT, stxowner BIGINT,"
        "stxstattarget INTEGER, stxkeys SMALLINT[], stxkind VARCHAR[], stxexprs VARCHAR"
    ),
    "pg_publication": _empty(
        "oid BIGINT, pubname VARCHAR, pubowner BIGINT, puballtables BOOLEAN, pubinsert BOOLEAN,"
        "pubupdate BOOLEAN, pubdelete BOOLEAN, pubtruncate BOOLEAN, pubviaroot BOOLEAN"
    ),
    "pg_publication_rel": _empty(
        "oid BIGINT, prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, prattrs SMALLINT[]"
    ),
    "pg_publication_namespace": _empty("oid BIGINT, pnpubid BIGINT, pnnspid BIGINT"),
    "pg_trigger": _empty(
        "oid BIGINT, tgrelid BIGINT, tgparentid BIGINT, tgname VARCHAR, tgfoid BIGINT,"
        "tgtype SMALLINT, tgenabled VARCHAR, tgisinternal BOOLEAN, tgconstraint BIGINT,"
        "tableoid BIGINT"
    ),
    "pg_rewrite": _empty(
        "oid BIGINT, rulename VARCHAR, ev_class BIGINT, ev_type VARCHAR, ev_enabled VARCHAR,"
        "is_instead BOOLEAN, tableoid BIGINT"
    ),
    "pg_foreign_table": _empty("ftrelid BIGINT, ftserver BIGINT, ftoptions VARCHAR[]"),
    "pg_partitioned_table": _empty(
        "partrelid BIGINT, partstrat VARCHAR, partnatts SMALLINT, partdefid BIGINT,"
        "partattrs SMALLINT[]"
    ),
    "pg_range": _empty(
        "rngtypid BIGINT, rngsubtype BIGINT, rngmultitypid BIGINT, rngcollation BIGINT,"
        "rngsubopc BIGINT, rngcanonical VARCHAR, rngsubdiff VARCHAR"
    ),
    "pg_opclass": _empty(
        "oid BIGINT, opcmethod BIGINT, opcname VARCHAR, opcnamespace BIGINT, opcowner BIGINT,"
        "opcfamily BIGINT, opcintype BIGINT, opcdefault BOOLEAN, opckeytype BIGINT,"
        "tableoid BIGINT"
    ),
    "pg_enum": f"SELECT oid, enumtypid, enumsortorder, enumlabel FROM {S}.enum_labels",
    # Built in (statements/extensions.py): CREATE EXTENSION of these succeeds, of others 0A000.
    "pg_extension": f"""SELECT * FROM (VALUES
        (13001::BIGINT, 'plpgsql', {OWNER}::BIGINT, {PG_CATALOG}::BIGINT, false, '1.0'),
        (16400, 'vector', {OWNER}, {PUBLIC}, true, '0.8.0'))
        AS t(oid, extname, extowner, extnamespace, extrelocatable, extversion),
        (SELECT NULL::BIGINT[] AS extconfig, NULL::VARCHAR[] AS extcondition)""",
    "pg_depend": _empty(
        "classid BIGINT, objid BIGINT, objsubid INTEGER, refclassid BIGINT, refobjid BIGINT,"
        "refobjsubid INTEGER, deptype VARCHAR"
    ),
    "pg_auth_members": _empty("oid BIGINT, roleid BIGINT, member BIGINT, grantor BIGINT"),
    "pg_matviews": _empty("schemaname VARCHAR, matviewname VARCHAR, definition VARCHAR"),
    "pg_collation": """SELECT * FROM (VALUES (100::BIGINT, 'default', 11::BIGINT, 'd'),
        (950, 'C', 11, 'c')) AS t(oid, collname, collnamespace, collprovider)""",
    # information_schema, with Postgres type names.
    "information_schema_schemata": f"""SELECT {S}.current_database() AS catalog_name,
        nspname AS schema_name, {S}.session_user_name() AS schema_owner,
        NULL::VARCHAR AS default_character_set_catalog,
        NULL::VARCHAR AS default_character_set_schema,
        NULL::VARCHAR AS default_character_set_name, NULL::VARCHAR AS sql_path
        FROM {S}.pg_namespace""",
    "information_schema_tables": f"""
SELECT {S}.current_database() AS table_catalog, nspname AS table_schema,
  relname AS table_name, CASE WHEN temp THEN 'LOCAL TEMPORARY' WHEN kind = 'v' THEN 'VIEW'
    ELSE 'BASE TABLE' END AS table_type,
  NULL::VARCHAR AS self_referencing_column_name, NULL::VARCHAR AS reference_generation,
  NULL::VARCHAR AS user_defined_type_catalog, NULL::VARCHAR AS user_defined_type_schema,
  NULL::VARCHAR AS user_defined_type_name, CASE kind WHEN 'v' THEN 'NO' ELSE 'YES' END
    AS is_insertable_into, 'NO' AS is_typed, NULL::VARCHAR AS commit_action
FROM {S}.rels""",
    "information_schema_views": f"""SELECT {S}.current_database() AS table_catalog,
        nspname AS table_schema, relname AS table_name,
        {_view_definition("r.oid")} AS view_definition FROM {S}.rels r WHERE kind = 'v'""",
    "information_schema_columns": f"""
SELECT {S}.current_database() AS table_catalog, nspname AS table_schema,
  relname AS table_name, attname AS column_name, attnum::INTEGER AS ordinal_position,
  column_default, CASE WHEN attnotnull THEN 'NO' ELSE 'YES' END AS is_nullable,
  CASE WHEN t.typcategory = 'A' THEN 'ARRAY' WHEN t.typtype = 'e' THEN 'USER-DEFINED'
    ELSE {S}.format_type(atttypid, -1) END AS data_type,
  CASE WHEN atttypid IN (1042, 1043) AND atttypmod > 4 THEN atttypmod - 4 END::INTEGER
    AS character_maximum_length,
  CASE WHEN atttypid IN (25, 1042, 1043) THEN CASE WHEN atttypmod > 4
    THEN (atttypmod - 4) * 4 ELSE 1073741824 END END::INTEGER AS character_octet_length,
  CASE atttypid WHEN 21 THEN 16 WHEN 23 THEN 32 WHEN 20 THEN 64 WHEN 700 THEN 24
    WHEN 701 THEN 53 WHEN 1700 THEN CASE WHEN atttypmod > 4 THEN (atttypmod - 4) >> 16 END
  END::INTEGER AS numeric_precision,
  CASE WHEN atttypid IN (21, 23, 20, 1700) THEN 10 WHEN atttypid IN (700, 701) THEN 2
  END::INTEGER AS numeric_precision_radix,
  CASE WHEN atttypid IN (21, 23, 20) THEN 0
    WHEN atttypid = 1700 AND atttypmod > 4 THEN (atttypmod - 4) & 65535 END::INTEGER
    AS numeric_scale,
  NULL::INTEGER AS datetime_precision, NULL::VARCHAR AS interval_type,
  {S}.current_database() AS udt_catalog,
  CASE WHEN t.typtype = 'e' THEN 'public' ELSE 'pg_catalog' END AS udt_schema,
  t.typname AS udt_name,
  CASE WHEN identity IS NULL THEN 'NO' ELSE 'YES' END AS is_identity,
  upper(identity) AS identity_generation, 'NEVER' AS is_generated, 'YES' AS is_updatable
FROM {S}.cols c LEFT JOIN {S}.types t ON t.oid = c.atttypid""",
    "information_schema_routines": f"""SELECT {S}.current_database() AS routine_catalog,
        'public' AS routine_schema, proname AS routine_name, 'FUNCTION' AS routine_type
        FROM {S}.pg_proc""",
}

# Postgres's fixed OIDs of the catalogs clients name as 'pg_class'::regclass.
_CATALOG_OIDS = "MAP {" + ", ".join(f"'{n}': {o}::UINTEGER" for n, o in {
    "pg_type": 1247, "pg_attribute": 1249, "pg_proc": 1255, "pg_class": 1259,
    "pg_authid": 1260, "pg_database": 1262, "pg_am": 2601, "pg_attrdef": 2604,
    "pg_constraint": 2606, "pg_description": 2609, "pg_index": 2610, "pg_namespace": 2615,
    "pg_opclass": 2616, "pg_rewrite": 2618, "pg_trigger": 2620, "pg_opfamily": 2753,
    "pg_extension": 3079, "pg_enum": 3501,
}.items()) + "}"  # fmt: skip

PATH = "coalesce(getvariable('elacsym_path'), ['public'])"  # search_path's schema names

# Scalar functions, by (name, parameters, body). Lookups by OID are scalar subqueries.
MACROS: list[tuple[str, str, str]] = [
    # The database the client asked for at start-up (session_state.py), as in Postgres.
    ("current_database", "", "coalesce(getvariable('elacsym_database'), 'elacsym')"),
    # The session's search_path (session_state.py sets elacsym_path; decision 0072): its
    # schemas that exist, in order.
    ("search_path_schemas", "",
     f"""coalesce((SELECT list(p ORDER BY i) FROM (SELECT unnest({PATH}) AS p,
        generate_subscripts({PATH}, 1) AS i) WHERE p IN (SELECT nspname FROM
        {S}.pg_namespace)), [])"""),
    ("current_schema", "", f"{S}.search_path_schemas()[1]"),
    ("current_schemas", "include_implicit",
     f"""CASE WHEN include_implicit THEN list_prepend('pg_catalog',
        {S}.search_path_schemas()) ELSE {S}.search_path_schemas() END"""),
    ("pg_get_userbyid", "role", f"{S}.session_user_name()"),
    # Temporary relations are visible, as is an OID of no relation: only the relations of
    # every session are looked at (a temporary one's OID is a hash of 'pg_temp.' || name).
    ("pg_table_is_visible", "rel",
     # aliased: the argument is often `pg_catalog.pg_class.oid` of the caller's query
     f"coalesce((SELECT bool_or(__vis.relnamespace = {PG_CATALOG} "
     f"OR __vis.relnamespace IN (SELECT __n.oid FROM "
     f"{S}.pg_namespace __n WHERE list_contains({PATH}, __n.nspname))) "
     f"FROM {S}.pg_class_shared __vis WHERE __vis.oid = rel AND {_shown('__vis')}), true)"),
    ("pg_type_is_visible", "typ", "true"),
    ("pg_opclass_is_visible", "opc", "true"),
    ("pg_opfamily_is_visible", "opf", "true"),
    ("pg_function_is_visible", "fn", "true"),
    ("pg_relation_is_publishable", "rel", "false"),
    ("pg_encoding_to_char", "enc", "CASE WHEN enc = 6 THEN 'UTF8' ELSE 'SQL_ASCII' END"),
    ("format_type", "typ, typmod",
     f"""CASE WHEN typ IS NULL THEN NULL
       WHEN typ = 1700 AND typmod > 4
         THEN 'numeric(' || ((typmod - 4) >> 16) || ',' || ((typmod - 4) & 65535) || ')'
       WHEN typ = 16401 AND typmod > 0 THEN 'vector(' || typmod || ')'
       WHEN typ IN (1042, 1043) AND typmod > 4
         THEN (SELECT display FROM {S}.types __t WHERE __t.oid = typ) || '(' || (typmod - 4) || ')'
       WHEN typ = 1231 AND typmod > 4
         THEN 'numeric(' || ((typmod - 4) >> 16) || ',' || ((typmod - 4) & 65535) || ')[]'
       ELSE coalesce((SELECT display FROM {S}.types __t WHERE __t.oid = typ), '???') END"""),
    ("pg_get_expr", "expr, rel, pretty := false", "expr::VARCHAR"),  # adbin is its text
    # 'name'::regclass and 'name'::regproc (pg_literals.py): the OID, or Postgres's error.
    ("regclass_oid", "n",
     f"""coalesce({_CATALOG_OIDS}[n], TRY_CAST(n AS UINTEGER),
        (SELECT oid FROM {S}.pg_class WHERE relname = n LIMIT 1),
        error('relation "' || n || '" does not exist'))"""),
    ("regtype_name", "typ",
     f"coalesce((SELECT display FROM {S}.types __t WHERE __t.oid = typ), typ::VARCHAR)"),
    ("regnamespace_name", "nsp",
     f"coalesce((SELECT nspname FROM {S}.pg_namespace WHERE oid = nsp), nsp::VARCHAR)"),
    ("regclass_name", "rel",
     f"coalesce((SELECT relname FROM {S}.pg_class WHERE oid = rel), rel::VARCHAR)"),
    # No partitions, so no ancestors: as a value (psql's foreign-key lists) and as a table
    # (its trigger list, WITH ORDINALITY); DuckDB keeps both macros under one name.
    ("pg_partition_ancestors", "rel", "NULL::UINTEGER"),
    ("pg_partition_ancestors", "rel",
     "TABLE SELECT NULL::UINTEGER AS relid, NULL::BIGINT AS depth WHERE false"),
    ("pg_get_viewdef", "rel, pretty := false", _view_definition("rel")),
    ("pg_get_triggerdef", "trg, pretty := false", "NULL::VARCHAR"),
    ("pg_get_partkeydef", "rel", "NULL::VARCHAR"),
    ("pg_get_serial_sequence", "rel, col",
     f"""(SELECT 'public.' || regexp_extract(d.def, '^nextval[(].([^'']+)', 1)
        FROM {S}.namespace_columns d WHERE d.attname = col AND d.def LIKE 'nextval(%'
        AND d.name = regexp_replace(rel::VARCHAR, '^public[.]', ''))"""),
    ("pg_get_statisticsobjdef_columns", "stx", "NULL::VARCHAR"),
    ("json_build_object",
     " | ".join(", ".join(f"a{i}" for i in range(n)) for n in range(2, 17, 2)), "NULL::JSON"),
    ("array_upper", "arr, dim", "CASE WHEN dim = 1 THEN len(arr) END"),
    ("array_lower", "arr, dim", "CASE WHEN dim = 1 AND len(arr) > 0 THEN 1 END"),
    # The server's session sets the variable: its backend key's pid (which says the worker).
    ("pg_backend_pid", "", "coalesce(getvariable('elacsym_backend_pid'), 0)::INTEGER"),
    ("pg_is_in_recovery", "", "false"),
    ("txid_current", "", "1::BIGINT"),
    ("has_table_privilege", "a, b, c := NULL", "true"),
    ("has_schema_privilege", "a, b, c := NULL", "true"),
    ("has_database_privilege", "a, b, c := NULL", "true"),
]  # fmt: skip
