"""Functions as pg_proc and its functions show them: DuckDB's macros in main (user macros,
pgvector's and ours) and the search functions, so psql's `\\df` lists and `\\sf` prints them.

The search functions are one table macro per namespace (search_calls.py); pg_proc lists
each once, as users call it (`vector_search(ns, q, k, ...)`), from the search spec, with
its parameters' Postgres types and a definition saying what it returns.
"""

from __future__ import annotations

import duckdb

from ...engine import SEARCH_FUNCTIONS, SearchFunction
from ..dialect.pg_rewrite import SHIM as S

PUBLIC, OWNER = 2200, 10
# Postgres's names of the search spec's parameter and score types.
_PG_TYPES = {"VARCHAR": "text", "BIGINT": "bigint", "BOOLEAN": "boolean", "FLOAT": "real",
             "DOUBLE": "double precision"}  # fmt: skip
_WHAT = {
    "vector_search": "the k rows of namespace ns nearest to vector q",
    "text_search": "the k rows of namespace ns that best match query (BM25)",
    "hybrid_search": "the k rows of namespace ns best by vector q and query, fused",
}

TABLE = (
    f"CREATE OR REPLACE TABLE {S}.search_functions (name VARCHAR, argnames VARCHAR[], "
    "arguments VARCHAR, src VARCHAR)"
)


def _pg_type(sql_type: str) -> str:
    base = sql_type.removesuffix("[]")
    return _PG_TYPES[base] + ("[]" if base != sql_type else "")


def _row(fn: SearchFunction) -> tuple[str, list[str], str, str]:
    """(name, parameter names, arguments as pg_get_function_arguments shows, definition)."""
    args = ["ns text"]
    for p in fn.params:
        name = f'"{p.name}"' if p.name in ("column", "window") else p.name  # reserved words
        default = "" if p.default is None else f" DEFAULT {p.default}"
        if p.default and p.default.startswith("["):  # a list: Postgres's array literal
            default = " DEFAULT '{" + p.default[1:-1].replace(" ", "") + "}'"
        args.append(f"{name} {_pg_type(p.sql_type)}{default}")
    scores = ", ".join(f"{s.name} {_pg_type(s.sql_type)}" for s in fn.scores)
    src = (f"{_WHAT[fn.name]}: every column of ns, then {scores}; filter is a SQL predicate "
           "over ns's columns applied inside the search")  # fmt: skip
    return fn.name, ["ns", *(p.name for p in fn.params)], ", ".join(args), src


def install_search_functions(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(TABLE)
    rows = [_row(fn) for fn in SEARCH_FUNCTIONS.values()]
    cur.executemany(f"INSERT INTO {S}.search_functions VALUES (?, ?, ?, ?)", rows)


FUNCTION_VIEWS: dict[str, str] = {
    "pg_proc": f"""
SELECT (hash(function_name || coalesce(parameters::VARCHAR, '')) % 1000000000)::BIGINT
    + 100000 AS oid, function_name AS proname, {PUBLIC}::BIGINT AS pronamespace,
  {OWNER}::BIGINT AS proowner, 13::BIGINT AS prolang, 1::FLOAT AS procost, 0::FLOAT AS prorows,
  0::BIGINT AS provariadic, '-' AS prosupport, 'f' AS prokind, false AS prosecdef,
  false AS proleakproof, false AS proisstrict, function_type = 'table_macro' AS proretset,
  'v' AS provolatile, 'u' AS proparallel, len(parameters)::SMALLINT AS pronargs,
  0::SMALLINT AS pronargdefaults, 0::BIGINT AS prorettype, NULL::BIGINT[] AS proargtypes,
  NULL::BIGINT[] AS proallargtypes, NULL::VARCHAR[] AS proargmodes,
  parameters AS proargnames, NULL::VARCHAR AS proargdefaults, NULL::BIGINT[] AS protrftypes,
  coalesce(macro_definition, '') AS prosrc, NULL::VARCHAR AS probin,
  NULL::VARCHAR AS prosqlbody, NULL::VARCHAR[] AS proconfig, NULL::VARCHAR[] AS proacl,
  function_type, arguments AS __arguments
FROM (
  SELECT function_name, parameters, function_type, macro_definition,
    array_to_string(parameters, ', ') AS arguments FROM duckdb_functions()
  WHERE database_name = (SELECT database_name FROM duckdb_schemas() WHERE schema_name = '{S}')
    AND schema_name = 'main' AND NOT internal
    AND NOT contains(function_name, '__') AND regexp_matches(function_name, '^[a-z_]')
    AND function_name NOT IN ('version', 'current_setting', 'set_config', 'to_regtype',
                              'current_user', 'session_user', 'user', 'current_role',
                              'quote_ident', 'quote_literal', 'quote_nullable',
                              'pg_get_keywords')  -- Postgres's own, in pg_catalog
  UNION ALL
  SELECT name, argnames, 'table_macro', src, arguments FROM {S}.search_functions)""",
}

FUNCTION_MACROS: list[tuple[str, str, str]] = [
    # 'f'::regproc (pg_literals.py): the OID, or Postgres's error.
    ("regproc_oid", "n",
     f"""coalesce((SELECT oid FROM {S}.pg_proc WHERE proname = n LIMIT 1),
        error('function "' || n || '" does not exist'))"""),
    ("pg_get_functiondef", "fn",
     f"""(SELECT 'CREATE OR REPLACE FUNCTION public.' || proname || '('
        || coalesce(__arguments, '') || ')' || chr(10) || ' RETURNS '
        || {S}.pg_get_function_result(oid) || chr(10) || ' LANGUAGE sql' || chr(10)
        || 'AS $function$' || prosrc || '$function$' || chr(10)
        FROM {S}.pg_proc WHERE oid = fn LIMIT 1)"""),
    ("pg_get_function_result", "fn",
     f"""(SELECT CASE WHEN function_type = 'table_macro' THEN 'SETOF record' ELSE 'unknown'
        END FROM {S}.pg_proc __p WHERE __p.oid = fn LIMIT 1)"""),
    ("pg_get_function_arguments", "fn",
     f"(SELECT __arguments FROM {S}.pg_proc __p WHERE __p.oid = fn LIMIT 1)"),
    ("pg_get_function_identity_arguments", "fn", f"{S}.pg_get_function_arguments(fn)"),
]  # fmt: skip
