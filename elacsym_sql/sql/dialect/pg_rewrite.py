"""Postgres catalog SQL as DuckDB can run it: token-level rewrites of what clients send.

psql, SQLAlchemy, asyncpg and pgJDBC introspect with `pg_catalog.pg_class`,
`OPERATOR(pg_catalog.~)`, `COLLATE pg_catalog.default`, `x::pg_catalog.regclass`,
`information_schema.columns`, `public.docs`. DuckDB has its own pg_catalog and
information_schema schemas, which cannot be shadowed; so the names we answer are sent to
our schema (`elacsym_pg`, pg_catalog/install.py), the rest lose their `pg_catalog.` prefix, and
the Postgres schema `public` is DuckDB's `main`. Literals, quoted text and comments are
never touched: the tokenizer tells them apart.
"""

from __future__ import annotations

import sqlglot
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ..parse import DIALECT, Statement, split_statements

SHIM = "elacsym_pg"


def _words(text: str) -> list[str]:
    return text.split()


# Catalog relations answered by our views (pg_views.py), by their Postgres names.
RELATIONS = frozenset(
    _words(
        """pg_am pg_attrdef pg_attribute pg_auth_members pg_authid pg_class pg_collation
        pg_constraint pg_database pg_depend pg_description pg_enum pg_extension
        pg_foreign_table pg_index pg_indexes pg_inherits pg_namespace pg_partitioned_table
        pg_policy pg_proc pg_publication pg_publication_namespace pg_publication_rel
        pg_range pg_rewrite pg_roles pg_sequence pg_settings pg_statistic_ext pg_tables
        pg_trigger pg_type pg_user pg_views pg_matviews pg_opclass pg_shdescription
        pg_stat_activity pg_locks pg_stat_user_tables pg_cursors pg_opfamily
        pg_tablespace"""
    )
)
INFORMATION_SCHEMA = frozenset(
    _words("""tables columns schemata table_constraints key_column_usage views routines
        sequences _pg_expandarray""")
)
# Functions answered by our macros (also when called without `pg_catalog.`).
FUNCTIONS = frozenset(
    _words(
        """format_type pg_get_userbyid pg_table_is_visible pg_type_is_visible
        pg_function_is_visible pg_get_indexdef pg_get_constraintdef pg_get_expr
        pg_encoding_to_char pg_get_function_result pg_get_function_arguments
        pg_get_function_identity_arguments obj_description col_description shobj_description
        pg_relation_is_publishable pg_get_statisticsobjdef_columns current_schema
        current_schemas current_database pg_get_serial_sequence json_build_object
        pg_total_relation_size pg_relation_size pg_table_size pg_indexes_size pg_get_viewdef
        pg_get_triggerdef pg_get_partkeydef array_upper array_lower pg_backend_pid
        has_table_privilege has_schema_privilege has_database_privilege pg_is_in_recovery
        txid_current pg_opclass_is_visible pg_opfamily_is_visible pg_get_functiondef
        pg_size_pretty pg_partition_ancestors pg_database_size"""
    )
)
_NAME = (TokenType.VAR, TokenType.IDENTIFIER)
_CATALOG_MARKERS = (
    "pg_",
    "information_schema",
    "public",
    "current_",
    "format_type",
    "json_",
    "oid",
)
# Postgres's oid type: DuckDB's `oid` is a BIGINT, which the wire would call int8.
OID_TYPE = "UINTEGER"


def rewrite_catalog(stmt: Statement) -> Statement:
    """The statement with catalog references pointed at what answers them here."""
    text = rewrite_text(stmt.text)
    if text == stmt.text:
        return stmt
    statements = split_statements(text)
    return statements[0] if len(statements) == 1 else Statement(text, None)


def reads_catalog(text: str) -> bool:
    """Whether (rewritten) SQL reads our catalog views: they list every namespace."""
    return f"{SHIM}." in text


def rewrite_text(sql: str) -> str:
    lowered = sql.lower()
    if not any(marker in lowered for marker in _CATALOG_MARKERS) and "operator" not in lowered:
        return sql
    try:
        tokens = sqlglot.tokenize(sql, read=DIALECT)
    except TokenError:
        return sql
    edits: list[tuple[int, int, str]] = []  # (start, end exclusive, replacement)
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        word = tok.text.lower()
        nxt = tokens[i + 1] if i + 1 < n else None
        prev = tokens[i - 1] if i > 0 else None
        after_dot = prev is not None and prev.token_type == TokenType.DOT
        # OPERATOR(pg_catalog.~) -> ~
        if tok.token_type == TokenType.OPERATOR and _is(nxt, TokenType.L_PAREN):
            close = _find(tokens, i + 2, TokenType.R_PAREN, limit=6)
            if close is not None:
                inner = tokens[i + 2 : close]
                if len(inner) >= 3 and inner[0].text.lower() == "pg_catalog":
                    inner = inner[2:]
                op = sql[inner[0].start : inner[-1].end + 1] if inner else ""
                edits.append((tok.start, tokens[close].end + 1, f" {op} "))
                i = close + 1
                continue
        # COLLATE pg_catalog.default / COLLATE "C": DuckDB's collations differ; drop it.
        if tok.token_type == TokenType.COLLATE and nxt is not None:
            end = i + 1
            if (
                end + 2 < n
                and tokens[end].text.lower() == "pg_catalog"
                and _is(tokens[end + 1], TokenType.DOT)
            ):
                end += 2
            edits.append((tok.start, tokens[end].end + 1, " "))
            i = end + 1
            continue
        if tok.token_type in _NAME:
            dotted = _is(nxt, TokenType.DOT) and i + 2 < n
            if word == "pg_catalog" and dotted and not after_dot:
                target = tokens[i + 2]
                name = target.text.lower()
                call = _is(tokens[i + 3] if i + 3 < n else None, TokenType.L_PAREN)
                if name == "oid" and _is(prev, TokenType.DCOLON):
                    edits.append((tok.start, target.end + 1, OID_TYPE))
                elif name in RELATIONS or (call and name in FUNCTIONS):
                    edits.append((tok.start, target.end + 1, f"{SHIM}.{name}"))
                elif call or not _is(tokens[i + 3] if i + 3 < n else None, TokenType.DOT):
                    if name.startswith("pg_") and not call:
                        i += 3  # DuckDB's own pg_catalog relation: leave it be
                        continue
                    edits.append((tok.start, target.start, ""))  # a type or function
                i += 3
                continue
            if word == "information_schema" and dotted and not after_dot:
                target = tokens[i + 2]
                name = target.text.lower()
                if name in INFORMATION_SCHEMA:
                    edits.append((tok.start, target.end + 1, f"{SHIM}.information_schema_{name}"))
                i += 3
                continue
            if word == "public" and dotted and not after_dot:
                if not (i + 3 < n and _is(tokens[i + 3], TokenType.L_PAREN)):
                    edits.append((tok.start, tok.end + 1, "main"))
                i += 3
                continue
            if word == "oid" and _is(prev, TokenType.DCOLON):
                edits.append((tok.start, tok.end + 1, OID_TYPE))
            bare = not after_dot and not _is(nxt, TokenType.DOT) and not _is(prev, TokenType.ALIAS)
            relation = word in RELATIONS and tok.token_type == TokenType.VAR
            function = word in FUNCTIONS and _is(nxt, TokenType.L_PAREN)
            if bare and (relation or function):
                edits.append((tok.start, tok.end + 1, f"{SHIM}.{word}"))
        elif word == "current_schema" and not after_dot:
            call = "" if _is(nxt, TokenType.L_PAREN) else "()"
            edits.append((tok.start, tok.end + 1, f"{SHIM}.current_schema{call}"))
        i += 1
    if not edits:
        return sql
    out, last = [], 0
    for start, end, repl in edits:
        out.append(sql[last:start])
        out.append(repl)
        last = end
    out.append(sql[last:])
    return "".join(out)


def _is(tok: Token | None, kind: TokenType) -> bool:
    return tok is not None and tok.token_type == kind


def _find(tokens: list[Token], start: int, kind: TokenType, limit: int) -> int | None:
    for j in range(start, min(len(tokens), start + limit)):
        if tokens[j].token_type == kind:
            return j
    return None
