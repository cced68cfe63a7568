"""CREATE TABLE name [(columns)] AS query, for namespaces: a table without a key whose
columns are the query's (its names, or the ones listed, and DuckDB's types of its result),
filled by `INSERT INTO name query` through the write path, one atomic write. Postgres
answers `SELECT n`; so does this. The table is created before it is filled: a failing
query leaves it empty (Postgres would roll both back)."""

from __future__ import annotations

import re
from collections.abc import Callable

import duckdb
from sqlglot import exp

from ...errors import InvalidTableDefinition
from ..parse import DIALECT
from ..views import quote

# DuckDB's VARCHAR is Postgres's text; the word VARCHAR would declare a varchar column.
_VARCHAR = re.compile(r"\bVARCHAR\b")


def create_table_as(
    cur: duckdb.DuckDBPyConnection,
    tree: exp.Create,
    run: Callable[[str], int],
    is_table: Callable[[str], bool],
) -> int:
    """Make and fill the table; returns the rows written. `run` executes one statement
    (as the session would) and returns its row count. IF NOT EXISTS of an existing table
    writes nothing, as in Postgres."""
    target = tree.this
    names: list[str] | None = None
    if isinstance(target, exp.Schema):
        names = [c.name for c in target.expressions]
        target = target.this
    if tree.args.get("exists") and is_table(target.name):
        return 0
    query = tree.expression.sql(dialect=DIALECT)
    described = cur.execute(f"DESCRIBE {query}").fetchall()
    if names is not None and len(names) > len(described):
        raise InvalidTableDefinition("CREATE TABLE AS specifies too many column names")
    columns = [
        (names[i] if names is not None and i < len(names) else row[0], row[1])
        for i, row in enumerate(described)
    ]
    table = target.sql(dialect=DIALECT)
    listed = ", ".join(f"{quote(name)} {_VARCHAR.sub('TEXT', type_)}" for name, type_ in columns)
    run(f"CREATE TABLE {table} ({listed})")
    if _no_data(tree):
        return 0
    return run(f"INSERT INTO {table} {query}")


def _no_data(tree: exp.Create) -> bool:
    """`... WITH NO DATA`: columns only."""
    props = tree.args.get("properties")
    return props is not None and any(
        isinstance(p, exp.WithDataProperty) and p.args.get("no") for p in props.expressions
    )
