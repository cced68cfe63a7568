"""What Postgres clients ask the server about itself: version(), current_setting(), the
type names they cast to (jsonb, name, ...), and the catalog (pg_class, pg_attribute,
information_schema, format_type(), ...) that lists namespaces as tables of schema public.

Installed once per Database on its DuckDB catalog, so the embedded connection and the
server answer alike. The catalog's views and macros live in schema `elacsym_pg`
(pg_views.py); pg_rewrite.py points client SQL at them.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from ...engine import Engine
from ..dialect.pg_literals import OBJECT_NAME, object_name
from ..dialect.pg_rewrite import SHIM, rewrite_catalog
from ..parse import DIALECT, Statement, split_statements
from ..session.client_settings import DEFAULTS, VERSION_STRING
from .pg_comments import COMMENT_MACROS, COMMENT_VIEWS
from .pg_constraints import CONSTRAINT_MACROS, CONSTRAINT_VIEWS
from .pg_functions import FUNCTION_MACROS, FUNCTION_VIEWS, install_search_functions
from .pg_namespaces import install_namespace_tables
from .pg_quoting import QUOTING_MACROS
from .pg_sequences import SEQUENCE_VIEWS
from .pg_stats import STAT_MACROS, STAT_VIEWS, install_size_function
from .pg_types import pg_type_of, type_rows
from .pg_views import INT8_COLUMNS, MACROS, VIEWS

# Functions answered by our macros in main, also when a client writes pg_catalog.f(...).
OWN_FUNCTIONS = {"version", "current_setting", "set_config", "to_regtype", "nextval", "currval",
                 "setval", "lastval"}  # fmt: skip


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duck_setting_names(duck: duckdb.DuckDBPyConnection) -> set[str]:
    rows = duck.execute("SELECT lower(name) FROM duckdb_settings()").fetchall()
    return {r[0] for r in rows}


def install_pg_catalog(duck: duckdb.DuckDBPyConnection, engine: Engine) -> None:
    """Our pg_catalog in `duck`; `engine` measures namespaces (sizes, row counts)."""
    cur = duck.cursor()
    try:
        defaults = ", ".join(f"{_literal(k.lower())}: {_literal(v)}" for k, v in DEFAULTS.items())
        statements = [
            f"CREATE OR REPLACE MACRO main.version() AS {_literal(VERSION_STRING)}",
            # Per-session values live in a variable of the session's connection (SET).
            "CREATE OR REPLACE MACRO main.current_setting(n) AS coalesce("
            "getvariable('elacsym_settings')[lower(n)], "
            f"MAP {{{defaults}}}[lower(n)])",
            # The authenticated user (the server sets session_authorization at start-up).
            *(
                f'CREATE OR REPLACE MACRO main."{name}"() AS coalesce('
                "getvariable('elacsym_settings')['session_authorization'], 'elacsym')"
                for name in ("current_user", "session_user", "user", "current_role")
            ),
            # Accepted and answered, not applied: SET is the way to change a setting here.
            "CREATE OR REPLACE MACRO main.set_config(n, v, is_local) AS v",
            "CREATE OR REPLACE MACRO main.to_regtype(n) AS "
            f"coalesce((SELECT oid FROM {SHIM}.pg_type WHERE typname = lower(n) LIMIT 1), "
            f"(SELECT oid FROM {SHIM}.types WHERE display = lower(n) LIMIT 1))",  # 'integer'
        ]
        for name, base in (("jsonb", "JSON"), ("name", "VARCHAR"), ("regclass", "VARCHAR"),
                           ("regtype", "VARCHAR"), ("regproc", "VARCHAR"),
                           ("regnamespace", "VARCHAR"), ("regrole", "VARCHAR"),
                           ("int2vector", "USMALLINT[]"), ("oidvector", "UBIGINT[]"),
                           ("xid", "BIGINT"), ("bpchar", "VARCHAR")):  # fmt: skip
            exists = cur.execute(
                "SELECT count(*) FROM duckdb_types() WHERE type_name = ?", [name]
            ).fetchone()
            if not exists or not exists[0]:
                statements.append(f"CREATE TYPE {name} AS {base}")
        install_size_function(duck, engine)
        for sql in QUOTING_MACROS:  # the catalog's macros quote names with them
            cur.execute(sql)
        _install_catalog(duck, cur)
        for sql in statements:
            cur.execute(sql)
    finally:
        cur.close()


ALL_VIEWS = {**VIEWS, **STAT_VIEWS, **CONSTRAINT_VIEWS, **COMMENT_VIEWS, **FUNCTION_VIEWS,
             **SEQUENCE_VIEWS}  # fmt: skip
ALL_MACROS = MACROS + STAT_MACROS + CONSTRAINT_MACROS + COMMENT_MACROS + FUNCTION_MACROS


def _install_catalog(duck: duckdb.DuckDBPyConnection, cur: duckdb.DuckDBPyConnection) -> None:
    def oids(types: pa.Array) -> pa.Array:
        return pa.array([None if t is None else pg_type_of(t)[0] for t in types.to_pylist()],
                        pa.uint32())  # fmt: skip

    def typmods(types: pa.Array) -> pa.Array:
        return pa.array([None if t is None else pg_type_of(t)[1] for t in types.to_pylist()],
                        pa.int32())  # fmt: skip

    def names(texts: pa.Array) -> pa.Array:  # a regclass parameter's relation name
        return pa.array([None if t is None else object_name(t) for t in texts.to_pylist()],
                        pa.string())  # fmt: skip

    for name, fn, ret in (("__elacsym_pg_oid", oids, "UINTEGER"),
                          ("__elacsym_pg_typmod", typmods, "INTEGER"),
                          (OBJECT_NAME, names, "VARCHAR")):  # fmt: skip
        duck.create_function(name, fn, ["VARCHAR"], ret, type="arrow")
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {SHIM}")
    cur.execute(
        f"CREATE OR REPLACE TABLE {SHIM}.types (oid UINTEGER, typname VARCHAR, display VARCHAR, "
        "typlen INTEGER, typcategory VARCHAR, typelem UINTEGER, typarray UINTEGER, "
        "typtype VARCHAR DEFAULT 'b')"
    )
    cur.executemany(
        f"INSERT INTO {SHIM}.types VALUES (?, ?, ?, ?, ?, ?, ?, 'b')",
        type_rows(),
    )
    # Labels of enum types (enum_types.py fills it).
    cur.execute(
        f"CREATE OR REPLACE TABLE {SHIM}.enum_labels (oid UINTEGER, enumtypid UINTEGER, "
        "enumsortorder FLOAT, enumlabel VARCHAR)"
    )
    install_namespace_tables(cur)
    install_search_functions(cur)
    global _catalog_statements
    if _catalog_statements is None:
        _catalog_statements = _views_and_macros(cur)
    else:  # the same definitions, in an order found to work: no retries, no DESCRIBE
        for sql in _catalog_statements:
            cur.execute(sql)


# The statements that made the views and macros, in the order they succeeded, recorded by
# the first install of the process: finding that order and the OID columns' types took
# most of a connect's 0.6 s, and the definitions never change.
_catalog_statements: list[str] | None = None


def _views_and_macros(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """Create the views and macros; returns the statements that did, in order."""
    done: list[str] = []
    # Views and macros refer to each other: create each once what it needs exists.
    pending = [
        f"CREATE OR REPLACE MACRO {SHIM}.{n}"
        + ", ".join(f"({p}) AS {body}" for p in params.split("|"))
        for n, params, body in ALL_MACROS
    ]
    pending += [f"CREATE OR REPLACE VIEW {SHIM}.{n} AS {sql}" for n, sql in ALL_VIEWS.items()]
    while pending:
        failed = []
        for sql in pending:
            try:
                cur.execute(sql)
                done.append(sql)
            except duckdb.CatalogException:
                failed.append(sql)
        if len(failed) == len(pending):
            cur.execute(failed[0])  # raises: a definition names what nothing defines
        pending = failed
    for name, sql in ALL_VIEWS.items():
        done.extend(_type_oid_columns(cur, name, sql))
    return _last_definitions(done)


def _last_definitions(statements: list[str]) -> list[str]:
    """Each object's last definition, where its first one stood (what it reads exists by
    then): a view is bound again when queried, so only its last text matters. A table
    macro and a scalar macro of one name are two objects to DuckDB."""
    final: dict[tuple[str, bool], str] = {}
    for sql in statements:
        head, body = sql.split(" AS ", 1)
        final[head.split("(", 1)[0], body.startswith("TABLE ")] = sql  # keeps the position
    return list(final.values())


def _type_oid_columns(cur: duckdb.DuckDBPyConnection, name: str, sql: str) -> list[str]:
    """Give a view's OID columns the type the wire sends as Postgres `oid` (UINTEGER; see
    pg_types.py): asyncpg, for one, decodes only oid[], not int8[], before it has
    introspected types. The views are written with BIGINT, which DuckDB also widens
    unions to; every BIGINT column of a catalog view is an OID but those in INT8_COLUMNS.
    Returns the statement that redefined the view, if one did."""
    columns = cur.execute(f"DESCRIBE {SHIM}.{name}").fetchall()
    casts = [
        f"{column}::{kind.replace('BIGINT', 'UINTEGER')} AS {column}"
        for column, kind, *_ in columns
        if kind in ("BIGINT", "BIGINT[]") and column not in INT8_COLUMNS
    ]
    if not casts:
        return []
    redefine = (
        f"CREATE OR REPLACE VIEW {SHIM}.{name} AS "
        f"SELECT * REPLACE ({', '.join(casts)}) FROM ({sql})"
    )
    cur.execute(redefine)
    return [redefine]


def unqualify_catalog_calls(stmt: Statement) -> Statement:
    """`pg_catalog.version()` -> `version()` for the functions defined here (DuckDB's own
    pg_catalog schema would answer otherwise), and catalog reads pointed at ours."""
    stmt = rewrite_catalog(stmt)
    if "pg_catalog" not in stmt.text.lower():
        return stmt
    try:
        tokens = sqlglot.tokenize(stmt.text, read=DIALECT)
    except TokenError:
        return stmt
    cuts = []
    for i in range(len(tokens) - 3):
        a, dot, fn, paren = tokens[i : i + 4]
        if (
            a.text.lower() == "pg_catalog"
            and dot.token_type == TokenType.DOT
            and fn.text.lower() in OWN_FUNCTIONS
            and paren.token_type == TokenType.L_PAREN
        ):
            cuts.append((a.start, dot.end + 1))
    if not cuts:
        return stmt
    text = stmt.text
    for start, end in reversed(cuts):
        text = text[:start] + text[end:]
    return split_statements(text)[0]
