"""`filter :=` is a predicate over one namespace's columns, and nothing else.

A search's filter is spliced into `SELECT key FROM <ns> WHERE (<filter>)`, so text that
closes the parenthesis, or calls a table function (`read_text`, `glob`) in a subquery,
would run other SQL. The filter is parsed, every node of its tree is checked against an
allow-list (column references of the namespace, literals, operators, casts, CASE and the
built-in scalar functions of DuckDB), and DuckDB runs the SQL written back from that
checked tree, never the text as given.
"""

from __future__ import annotations

import functools

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from ...errors import ElacsymError, NotSupportedError, SyntaxError, UndefinedColumn, UndefinedTable
from ...schema import Schema
from ..parse import DIALECT, syntax_error

# Leaves and structure a predicate may be made of (operators are allowed as a class:
# exp.Binary, exp.Unary, exp.Predicate, exp.Condition below).
_ALLOWED_NODES = (
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Identifier,
    exp.Var,
    exp.Paren,
    exp.DataType,
    exp.DataTypeParam,
    exp.Cast,
    exp.Interval,
    exp.IntervalSpan,
    exp.Array,
    exp.Tuple,
    exp.Bracket,
    exp.Case,
    exp.If,
    exp.Between,
    exp.Any,
    exp.All,
    exp.In,
    exp.Lambda,
    exp.Binary,
    exp.Unary,
)

# Scalar functions that read or change state outside the row (logs, sequences, the
# session's statement and settings): no business in a filter.
_DENIED_FUNCTIONS = frozenset(
    {
        "write_log",
        "current_query",
        "current_query_id",
        "current_setting",
        "getvariable",
        "nextval",
        "currval",
        "setseed",
        "json_serialize_sql",
        "json_deserialize_sql",
        "json_execute_serialized_sql",
    }
)


@functools.cache
def _builtin_scalar_functions() -> frozenset[str]:
    """DuckDB's own scalar functions and macros (a fresh database: none of ours, whose
    UDFs run searches, and no table functions, which read files)."""
    with duckdb.connect(":memory:") as duck:
        rows = duck.execute(
            "SELECT DISTINCT lower(function_name) FROM duckdb_functions() "
            "WHERE function_type IN ('scalar', 'macro')"
        ).fetchall()
    names = {name for (name,) in rows if not name.startswith("__")}
    return frozenset(names - _DENIED_FUNCTIONS)


def checked_filter(filter_sql: str, schema: Schema) -> str:
    """`filter_sql` as DuckDB is to run it: raises 42601 for text that is not one
    expression, 42703 for a column the namespace lacks, 0A000 for anything but a predicate
    over its columns (subqueries, table or non-built-in functions, parameters, stars)."""
    if len(filter_sql) <= _CACHED_FILTER:  # a filter is usually sent again and again
        return _checked(filter_sql, schema)
    return _checked.__wrapped__(filter_sql, schema)


_CACHED_FILTER = 4096


@functools.lru_cache(maxsize=1024)
def _checked(filter_sql: str, schema: Schema) -> str:
    try:
        tree = sqlglot.parse_one(filter_sql, read=DIALECT)
    except (ParseError, TokenError) as exc:
        raise SyntaxError(f"invalid filter: {syntax_error(exc).message}") from None
    if tree is None or isinstance(tree, exp.Query | exp.Command) or not _is_expression(tree):
        raise SyntaxError("invalid filter: filter := takes a predicate, not a statement")
    lambda_args = {
        ident.name.lower()
        for node in tree.find_all(exp.Lambda)
        for ident in node.expressions
        if isinstance(ident, exp.Identifier)
    }
    for node in tree.walk():
        _check_node(node, schema, lambda_args)
    return tree.sql(dialect=DIALECT, comments=False)  # a comment could hide `*/`


def admits(filter_sql: str, schema: Schema) -> bool:
    """Whether `filter_sql` passes `checked_filter`."""
    try:
        checked_filter(filter_sql, schema)
    except ElacsymError:
        return False
    return True


def _is_expression(tree: exp.Expression) -> bool:
    return isinstance(tree, exp.Condition | exp.Binary | exp.Unary | exp.Func | exp.Column)


def _check_node(node: exp.Expression, schema: Schema, lambda_args: set[str]) -> None:
    if isinstance(node, exp.Column):
        _check_column(node, schema, lambda_args)
    elif isinstance(node, exp.Func):
        _check_function(node)
    elif isinstance(node, exp.Query | exp.Subquery | exp.Table | exp.Select):
        raise NotSupportedError(
            "subqueries are not allowed in filter :=: it is a predicate over the "
            f'columns of "{schema.name}"'
        )
    elif isinstance(node, exp.Placeholder | exp.Parameter):
        raise NotSupportedError("parameters are not allowed inside filter :=; pass the filter")
    elif isinstance(node, exp.Star):
        raise NotSupportedError("* is not allowed in filter :=")
    elif not isinstance(node, _ALLOWED_NODES):
        raise NotSupportedError(
            f"{type(node).__name__.lower()} expressions are not allowed in filter :="
        )


def _check_column(node: exp.Column, schema: Schema, lambda_args: set[str]) -> None:
    if node.args.get("catalog") or node.args.get("db"):
        raise UndefinedColumn(f'column "{node.sql(dialect=DIALECT)}" does not exist')
    qualifier = node.table
    name = node.name
    if not qualifier and name.lower() in lambda_args:
        return
    if qualifier and qualifier != schema.name:
        raise UndefinedTable(f'missing FROM-clause entry for table "{qualifier}"')
    known = schema.names if node.this.quoted else {n.lower() for n in schema.names}
    if (name if node.this.quoted else name.lower()) not in known:
        raise UndefinedColumn(f'column "{name}" of relation "{schema.name}" does not exist')


def _check_function(node: exp.Func) -> None:
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name not in _builtin_scalar_functions():
            raise NotSupportedError(f"function {node.name} is not allowed in filter :=")
        return
    kind = type(node)
    # Table functions and aggregates parsed into typed nodes (read_csv, unnest, count(*)).
    if issubclass(kind, exp.AggFunc | exp.UDTF) or kind.__name__.startswith("Read"):
        raise NotSupportedError(f"function {node.sql_name().lower()} is not allowed in filter :=")
    if node.sql_name().lower() in _DENIED_FUNCTIONS:
        raise NotSupportedError(f"function {node.sql_name().lower()} is not allowed in filter :=")
