"""What Postgres clients ask the server about itself: version(), current_setting(), the
type names they cast to (jsonb, name, ...).

Installed once per Database on its DuckDB catalog, so the embedded connection and the
server answer alike.
"""

from __future__ import annotations

import duckdb
import sqlglot
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from .client_settings import DEFAULTS, VERSION_STRING
from .parse import DIALECT, Statement, split_statements

# Functions answered by our macros in main, also when a client writes pg_catalog.f(...).
OWN_FUNCTIONS = {"version", "current_setting", "set_config", "to_regtype"}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duck_setting_names(duck: duckdb.DuckDBPyConnection) -> set[str]:
    rows = duck.execute("SELECT lower(name) FROM duckdb_settings()").fetchall()
    return {r[0] for r in rows}


def install_pg_catalog(duck: duckdb.DuckDBPyConnection) -> None:
    cur = duck.cursor()
    try:
        defaults = ", ".join(f"{_literal(k.lower())}: {_literal(v)}" for k, v in DEFAULTS.items())
        statements = [
            f"CREATE OR REPLACE MACRO main.version() AS {_literal(VERSION_STRING)}",
            # Per-session values live in a variable of the session's connection (SET).
            "CREATE OR REPLACE MACRO main.current_setting(n) AS coalesce("
            "getvariable('elacsym_settings')[lower(n)], "
            f"MAP {{{defaults}}}[lower(n)])",
            # Accepted and answered, not applied: SET is the way to change a setting here.
            "CREATE OR REPLACE MACRO main.set_config(n, v, is_local) AS v",
            "CREATE OR REPLACE MACRO main.to_regtype(n) AS "
            "(SELECT oid FROM pg_catalog.pg_type WHERE typname = lower(n) LIMIT 1)",
        ]
        for name, base in (("jsonb", "JSON"), ("name", "VARCHAR"), ("regclass", "VARCHAR"),
                           ("regtype", "VARCHAR"), ("regproc", "VARCHAR")):  # fmt: skip
            exists = cur.execute(
                "SELECT count(*) FROM duckdb_types() WHERE type_name = ?", [name]
            ).fetchone()
            if not exists or not exists[0]:
                statements.append(f"CREATE TYPE {name} AS {base}")
        for sql in statements:
            cur.execute(sql)
    finally:
        cur.close()


def unqualify_catalog_calls(stmt: Statement) -> Statement:
    """`pg_catalog.version()` -> `version()` for the functions defined here (DuckDB's own
    pg_catalog schema would answer otherwise)."""
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
