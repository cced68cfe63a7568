"""Settings, activity, locks, statistics and sizes as Postgres's catalog shows them.

`pg_settings` lists the session's settings (client_settings.py; the server hands them to
SQL as a DuckDB variable), `pg_cursors` the session's open SQL cursors (cursors.py, the
same way). `pg_stat_user_tables` counts each namespace's live rows and `pg_table_size`
and its kin measure its segments and indexes on the object store (Engine.stats). There
are no row or table locks to show: writes are appends with conditional commits, so
`pg_locks` is empty.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from ...engine import Engine
from ...errors import ElacsymError
from ..dialect.pg_rewrite import SHIM
from ..session.client_settings import DEFAULTS

S = SHIM


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_DEFAULTS_MAP = (
    "MAP {" + ", ".join(f"{_literal(k.lower())}: {_literal(v)}" for k, v in DEFAULTS.items()) + "}"
)
# The unit Postgres shows for a setting, where it has one.
_UNITS = {"statement_timeout": "ms", "lock_timeout": "ms",
          "idle_in_transaction_session_timeout": "ms", "block_size": "B"}  # fmt: skip

STAT_VIEWS: dict[str, str] = {
    "pg_settings": f"""
SELECT name, setting,
  CASE name {" ".join(f"WHEN {_literal(k)} THEN {_literal(u)}" for k, u in _UNITS.items())}
    END AS unit,
  'Ungrouped' AS category, '' AS short_desc, NULL::VARCHAR AS extra_desc,
  CASE WHEN name IN ('max_index_keys', 'max_function_args', 'max_identifier_length',
    'block_size', 'server_version', 'server_version_num', 'server_encoding',
    'integer_datetimes', 'lc_collate', 'lc_ctype') THEN 'internal' ELSE 'user' END AS context,
  CASE WHEN regexp_full_match(setting, '-?[0-9]+') THEN 'integer'
    WHEN setting IN ('on', 'off') THEN 'bool' ELSE 'string' END AS vartype,
  'default' AS source, NULL::VARCHAR AS min_val, NULL::VARCHAR AS max_val,
  NULL::VARCHAR[] AS enumvals, setting AS boot_val, setting AS reset_val,
  NULL::VARCHAR AS sourcefile, NULL::INTEGER AS sourceline, false AS pending_restart
FROM (SELECT unnest(map_keys(m)) AS name, unnest(map_values(m)) AS setting
  FROM (SELECT coalesce(getvariable('elacsym_settings'), {_DEFAULTS_MAP}) AS m))""",
    "pg_stat_activity": f"""SELECT 16384::BIGINT AS datid, {S}.current_database() AS datname,
        0 AS pid, {S}.session_user_name() AS usename,
        coalesce(getvariable('elacsym_settings')['application_name'], '') AS application_name,
        'active' AS state,
        '' AS query""",
    "pg_locks": """SELECT NULL::VARCHAR AS locktype, NULL::BIGINT AS database,
        NULL::BIGINT AS relation, NULL::INTEGER AS page, NULL::SMALLINT AS tuple,
        NULL::VARCHAR AS virtualxid, NULL::BIGINT AS transactionid, NULL::BIGINT AS classid,
        NULL::BIGINT AS objid, NULL::SMALLINT AS objsubid, NULL::VARCHAR AS virtualtransaction,
        NULL::INTEGER AS pid, NULL::VARCHAR AS mode, NULL::BOOLEAN AS granted,
        NULL::BOOLEAN AS fastpath, NULL::TIMESTAMPTZ AS waitstart WHERE false""",
    "pg_stat_user_tables": f"""
SELECT oid AS relid, nspname AS schemaname, relname, 0::BIGINT AS seq_scan,
  0::BIGINT AS seq_tup_read, 0::BIGINT AS idx_scan, 0::BIGINT AS idx_tup_fetch,
  0::BIGINT AS n_tup_ins, 0::BIGINT AS n_tup_upd, 0::BIGINT AS n_tup_del,
  0::BIGINT AS n_tup_hot_upd, __elacsym_ns_size(name, 'rows') AS n_live_tup,
  0::BIGINT AS n_dead_tup, 0::BIGINT AS n_mod_since_analyze, 0::BIGINT AS n_ins_since_vacuum,
  NULL::TIMESTAMPTZ AS last_vacuum, NULL::TIMESTAMPTZ AS last_autovacuum,
  NULL::TIMESTAMPTZ AS last_analyze, NULL::TIMESTAMPTZ AS last_autoanalyze,
  0::BIGINT AS vacuum_count, 0::BIGINT AS autovacuum_count, 0::BIGINT AS analyze_count,
  0::BIGINT AS autoanalyze_count
FROM {S}.rels WHERE kind = 'r'""",
    "pg_cursors": """SELECT c.name, c.statement, c.is_holdable, c.is_binary,
        false AS is_scrollable, c.creation_time
        FROM (SELECT unnest(coalesce(getvariable('elacsym_cursors'),
          []::STRUCT(name VARCHAR, statement VARCHAR, is_holdable BOOLEAN, is_binary BOOLEAN,
                     creation_time TIMESTAMPTZ)[])) AS c)""",
    "pg_tablespace": """SELECT * FROM (VALUES (1663::BIGINT, 'pg_default'), (1664, 'pg_global'))
        AS t(oid, spcname), (SELECT 10::BIGINT AS spcowner, NULL::VARCHAR[] AS spcacl,
        NULL::VARCHAR[] AS spcoptions)""",
    "pg_opfamily": """SELECT NULL::BIGINT AS oid, NULL::BIGINT AS opfmethod,
        NULL::VARCHAR AS opfname, NULL::BIGINT AS opfnamespace, NULL::BIGINT AS opfowner,
        NULL::BIGINT AS tableoid WHERE false""",
}

# Sizes by relation OID (pg_table_size and its kin): 0 for what is not a namespace.
STAT_MACROS: list[tuple[str, str, str]] = [
    # The authenticated user (the server's session_authorization), owner of everything.
    ("session_user_name", "",
     "coalesce(getvariable('elacsym_settings')['session_authorization'], 'elacsym')"),
    ("pg_table_size", "rel", f"{S}.__size(rel, 'table')"),
    ("pg_relation_size", "rel, fork := 'main'", f"{S}.__size(rel, 'table')"),
    ("pg_indexes_size", "rel", f"{S}.__size(rel, 'indexes')"),
    ("pg_total_relation_size", "rel", f"{S}.__size(rel, 'total')"),
    # Postgres's rounding and units (DuckDB's own writes KiB): bytes below 10 kB.
    ("pg_size_pretty", "s",
     """CASE WHEN abs(s) < 10240 THEN s || ' bytes'
        WHEN abs(s >> 9) < 20479 THEN ((s >> 9) + 1) // 2 || ' kB'
        WHEN abs(s >> 19) < 20479 THEN ((s >> 19) + 1) // 2 || ' MB'
        WHEN abs(s >> 29) < 20479 THEN ((s >> 29) + 1) // 2 || ' GB'
        ELSE ((s >> 39) + 1) // 2 || ' TB' END"""),
    # Every namespace's segments and indexes (psql's \l+).
    ("pg_database_size", "db",
     f"coalesce((SELECT sum(__elacsym_ns_size(name, 'total')) FROM {S}.rels"
     " WHERE kind = 'r'), 0)::BIGINT"),
    ("__size", "rel, part",
     f"coalesce((SELECT __elacsym_ns_size(name, part) FROM {S}.rels WHERE oid = rel), 0)"),
]  # fmt: skip


def install_size_function(duck: duckdb.DuckDBPyConnection, engine: Engine) -> None:
    """`__elacsym_ns_size(name, part)`: a namespace's bytes on the object store ('table':
    segments and unindexed rows, 'indexes', 'total') or its live 'rows' (an estimate, as
    Postgres's n_live_tup: rows in segments plus unindexed writes); 0 for anything else."""

    def measure(name: str, part: str) -> int:
        try:
            snap = engine.namespace(name).snapshot()
        except ElacsymError:  # not a namespace (a DuckDB table or view)
            return 0
        segments = snap.manifest.segments
        if part == "rows":
            return sum(s.live_rows for s in segments) + snap.tail.rows.num_rows
        table = sum(s.bytes for s in segments) + snap.tail.rows.nbytes
        indexes = sum(s.index_bytes for s in segments)
        return {"table": table, "indexes": indexes, "total": table + indexes}.get(part, 0)

    def size(names: pa.Array, parts: pa.Array) -> pa.Array:
        pairs = zip(names.to_pylist(), parts.to_pylist(), strict=True)
        return pa.array([measure(n, p) for n, p in pairs], pa.int64())

    duck.create_function("__elacsym_ns_size", size, ["VARCHAR", "VARCHAR"], "BIGINT", type="arrow")
