"""What a statement takes and returns, found by binding it, never by running it.

The Postgres protocol's Describe asks for a statement's parameter types and result
columns before (or without) executing it; a typed INSERT must not write. DuckDB's binder
answers both (`_bind`, the call its own relation API uses to type a query without running
it). Namespace writes are described through an equivalent SELECT over the namespace's
view, since the write itself never reaches DuckDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot import exp

from ..errors import NotSupportedError, SyntaxError
from .column_names import pg_names, source_columns
from .command_tags import leading_words
from .declared_types import declared_types, may_declare
from .dialect.pg_literals import rewrite_literal_casts
from .dialect.pg_rewrite import rewrite_catalog
from .errors import translate
from .param_types import infer_param_types
from .parse import DIALECT, Statement, split_statements
from .search.search_calls import rewrite_search_calls
from .session.cursor_statements import CursorStatement, Declare, Fetch, parse_cursor_statement
from .session.txn_control import parse_control
from .statements.ddl import identifier
from .statements.dml import returning_sql, target_name, write_alias
from .views import quote

if TYPE_CHECKING:
    from ..schema import Schema
    from .database import Database
    from .session.session_state import SessionState


@dataclass(frozen=True)
class Description:
    parameters: list[str | None]  # DuckDB type of each $n; None when nothing decides it
    columns: list[tuple[str, str]] | None  # (name, DuckDB type); None: returns no rows


NO_ROWS = Description([], None)


def describe(
    db: Database,
    cur: duckdb.DuckDBPyConnection,
    sql: str,
    state: SessionState,
    params: Sequence[Any] | None = None,
) -> Description:
    """Describe the one statement of `sql` (with `params`, when bound, typing it exactly)."""
    statements = split_statements(db.rewrite(sql, state))
    if not statements:
        return NO_ROWS
    if len(statements) > 1:
        raise SyntaxError("cannot insert multiple commands into a prepared statement")
    stmt = state.access.checked(statements[0])  # binding reads files too (sandbox.py)
    if parse_control(stmt.text) is not None:
        return NO_ROWS
    cursor_stmt = parse_cursor_statement(stmt.text)
    if cursor_stmt is not None:
        return _describe_cursor(db, cur, cursor_stmt, state, params)
    words = stmt.text.split(None, 2)
    if words and words[0].upper() in ("SET", "SHOW", "RESET", "DISCARD"):
        return _describe_setting(cur, stmt, state, params)
    if _answered_without_duckdb(stmt.text):
        return Description([None] * stmt.placeholders, None)
    try:
        tree = stmt.tree
        if isinstance(tree, exp.Insert | exp.Update | exp.Delete):
            name = target_name(tree)
            if db.router.is_namespace(name):
                return _describe_write(db, cur, tree, name, stmt.placeholders)
        if isinstance(tree, exp.Create | exp.Drop) and not _duckdb_only(tree):
            return Description([None] * stmt.placeholders, None)
        return _bind(db, cur, stmt, params)
    except duckdb.Error as exc:
        raise translate(exc) from None


def _answered_without_duckdb(text: str) -> bool:
    """CREATE/DROP EXTENSION and INDEX (extensions.py, indexes.py), VACUUM and ANALYZE
    (maintenance.py): no rows, no binding."""
    words = leading_words(text, 4)
    if words[:1] in (["VACUUM"], ["ANALYZE"], ["ANALYSE"]):
        return True
    return words[:1] in (["CREATE"], ["DROP"]) and ("EXTENSION" in words or "INDEX" in words)


def _describe_cursor(
    db: Database,
    cur: duckdb.DuckDBPyConnection,
    stmt: CursorStatement,
    state: SessionState,
    params: Sequence[Any] | None,
) -> Description:
    """DECLARE has its query's parameters and no rows; FETCH the rows of its cursor."""
    if isinstance(stmt, Declare):
        inner = describe(db, cur, stmt.query, state, params)
        return Description(inner.parameters, None)
    if isinstance(stmt, Fetch) and not stmt.move:
        cursor = state.cursors.get(stmt.name)
        return Description([], list(zip(cursor.names, cursor.wire_types, strict=True)))
    return NO_ROWS


def _duckdb_only(tree: exp.Expression) -> bool:
    kind = (tree.args.get("kind") or "").upper()
    return kind not in ("TABLE",)


def _describe_setting(
    cur: duckdb.DuckDBPyConnection,
    stmt: Statement,
    state: SessionState,
    params: Sequence[Any] | None,
) -> Description:
    from .session.client_settings import ClientSettings

    probe = ClientSettings(state.settings._duck)  # a copy: describing must not SET
    probe.values = dict(state.settings.values)
    ours = probe.intercept(stmt)
    if ours is None:
        return _bind_text(cur, stmt.text, params)
    verb, name = ours
    if verb == "SHOW" and name is not None:
        if name.upper() == "ALL":
            return Description([], [("name", "VARCHAR"), ("setting", "VARCHAR")])
        return Description([], [(name.lower(), "VARCHAR")])
    return NO_ROWS


def _bind(
    db: Database, cur: duckdb.DuckDBPyConnection, stmt: Statement, params: Sequence[Any] | None
) -> Description:
    stmt = rewrite_catalog(stmt)  # pg_catalog reads, as execution sees them
    text, searched = rewrite_search_calls(rewrite_literal_casts(stmt.text))
    names = db.duck_queries.tables_read(stmt, text)
    for name in searched:
        db.views.refresh_one(name)
    db.views.refresh(names - searched)
    described = _bind_text(cur, text, params)
    if described.columns is None:
        return described
    schemas = db.duck_queries.declared_schemas(names | searched)
    columns = _as_executed(stmt.text, described.columns, schemas)
    return Description(described.parameters, columns)


def _as_executed(
    text: str, columns: list[tuple[str, str]], schemas: list[Schema]
) -> list[tuple[str, str]]:
    """Columns as execution names and types them: Postgres's names (column_names.py) and
    the declared types DuckDB's result types lose (declared_types.py)."""
    renamed = pg_names(text, [n for n, _ in columns])
    if renamed is not None:
        columns = [(n, t) for n, (_, t) in zip(renamed, columns, strict=True)]
    if not may_declare(schemas, text):
        return columns
    types = declared_types(schemas, columns, source_columns(text, len(columns)))
    if types is None:
        return columns
    return [(n, t) for (n, _), t in zip(columns, types, strict=True)]


def _bind_text(
    cur: duckdb.DuckDBPyConnection, text: str, params: Sequence[Any] | None
) -> Description:
    binder = getattr(cur, "_bind", None)
    if binder is None:
        raise NotSupportedError("this DuckDB build cannot describe a statement without running it")
    names, types, parameters, return_type, *_ = binder(
        text, with_writes=True, values=list(params) if params else None
    )
    param_types: list[str | None] = [None if str(p) == "UNKNOWN" else str(p) for _, p in parameters]
    if params is None and None in param_types:

        def bind_select(sql: str) -> list[str] | None:
            try:
                return [str(t) for t in binder(sql, with_writes=True, values=None)[1]]
            except duckdb.Error:
                return None

        param_types = infer_param_types(text, param_types, bind_select)
    if any(str(t) == "UNKNOWN" for t in types) and params is None and parameters:
        # Untyped parameters are text (as in Postgres): type the columns that way; those
        # an operator typed (param_types.py) as NULLs of their type.
        values = ["" if p is None else None for p in param_types]
        names, types, *_ = binder(text, with_writes=True, values=values)
    if return_type != "query_result":
        return Description(param_types, None)
    return Description(param_types, [(n, str(t)) for n, t in zip(names, types, strict=True)])


def _describe_write(
    db: Database, cur: duckdb.DuckDBPyConnection, tree: exp.Expression, name: str, n: int
) -> Description:
    """Parameter types of a namespace write, from a SELECT that types them the same way,
    and the columns of its RETURNING clause, if any."""
    schema = db.views.refresh_one(name).schema
    returned = _returning_columns(cur, tree, schema, name)
    if n == 0:
        return Description([], returned)
    table = f"main.{quote(name)}"
    alias = tree.this.alias if isinstance(tree.this, exp.Table) else ""
    source = table + (f" AS {quote(alias)}" if alias else "")
    where = tree.args.get("where")
    where_sql = f" {where.sql(DIALECT)}" if where is not None else ""

    def typed(expr: exp.Expression, column: str) -> str:
        col = schema.column(column)
        target = "FLOAT[]" if col.is_vector else col.type
        return f"CAST({expr.sql(DIALECT)} AS {target})"

    if isinstance(tree, exp.Insert):
        columns = (
            [identifier(c, "column") for c in tree.this.expressions]
            if isinstance(tree.this, exp.Schema)
            else [c.name for c in schema.visible]
        )
        source_expr = tree.expression
        if isinstance(source_expr, exp.Values):
            rows = [
                "SELECT "
                + ", ".join(typed(e, c) for e, c in zip(row.expressions, columns, strict=False))
                for row in source_expr.expressions
            ]
            sql = " UNION ALL ".join(rows)
        elif source_expr is not None:
            sql = source_expr.sql(DIALECT)
        else:
            return Description([None] * n, returned)
    elif isinstance(tree, exp.Update):
        sets = [typed(e.expression, identifier(e.this.this, "column")) for e in tree.expressions]
        sql = f"SELECT {', '.join(sets)} FROM {source}{where_sql}"
    else:
        sql = f"SELECT 1 FROM {source}{where_sql}"
    described = _bind_text(cur, sql, None)
    params = described.parameters + [None] * (n - len(described.parameters))
    return Description(params[:n], returned)


def _returning_columns(
    cur: duckdb.DuckDBPyConnection, tree: exp.Expression, schema: Schema, name: str
) -> list[tuple[str, str]] | None:
    """RETURNING's columns, typed by the query that execution runs over the rows written,
    here over the namespace's view (which has the same columns); None without RETURNING."""
    returning = tree.args.get("returning")
    if returning is None:
        return None
    assert isinstance(tree, exp.Insert | exp.Update | exp.Delete)
    sql = returning_sql(returning, write_alias(tree), schema, f"main.{quote(name)}")
    return _as_executed(sql, _bind_text(cur, sql, None).columns or [], [schema])
