"""ALTER TABLE on a namespace: ADD [CONSTRAINT name] PRIMARY KEY (columns), as pgbench -i
and schema migrations add a key after loading the rows (decision 0034).

A namespace created without a key stores its rows under a hidden row id (0025). Making
the new key the storage key would rewrite every row; instead the key is kept as a
constraint (schema.py's `added_key`): its columns become NOT NULL, and it is enforced as
UNIQUE is (sql/statements/enforce.py), so a duplicate is 23505 as in Postgres, and the catalog shows
it as the table's primary key. The rows present are checked first, with Postgres's errors
(23502 for a NULL, 23505 for a duplicate). Other ALTER TABLE actions: 0A000.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
from sqlglot import exp

from ...constraints import Unique
from ...engine import Engine, Snapshot
from ...errors import (
    InvalidTableDefinition,
    NotNullViolation,
    NotSupportedError,
    UndefinedColumn,
    UniqueViolation,
)
from ...schema import Schema
from ..views import ViewCatalog, quote
from .ddl import identifier


def execute_alter(
    engine: Engine, views: ViewCatalog, cur: duckdb.DuckDBPyConnection, name: str, tree: exp.Alter
) -> str:
    """Run ALTER TABLE on namespace `name`; returns the command tag."""
    actions = tree.args.get("actions") or []
    key = _added_primary_key(actions)
    if key is None:
        raise NotSupportedError(
            f"ALTER TABLE {tree.sql('duckdb')[len('ALTER TABLE ') :]} is not supported on "
            "namespaces yet",
            hint="ALTER TABLE ... ADD PRIMARY KEY (columns) is.",
        )
    constraint_name, columns = key

    def add(snap: Snapshot) -> Schema:
        # Under the namespace's write lock: no write of this process lands between the
        # check and the commit. Other processes adopt the key at their next manifest read.
        views.refresh_one(name)  # the view shows at least `snap`: the rows checked
        unique = _primary_key(snap.schema, constraint_name, columns)
        _check_rows(cur, snap.schema, unique)
        return _with_key(snap.schema, unique)

    engine.change_schema(name, add)
    views.refresh([name])
    return "ALTER TABLE"


def _added_primary_key(actions: list[exp.Expression]) -> tuple[str | None, list[str]] | None:
    """(constraint name or None, columns) of a lone ADD PRIMARY KEY action, else None."""
    if len(actions) != 1 or not isinstance(actions[0], exp.AddConstraint):
        return None
    items = actions[0].expressions
    if len(items) != 1:
        return None
    item, name = items[0], None
    if isinstance(item, exp.Constraint):
        name = identifier(item.this, "constraint")
        if len(item.expressions) != 1:
            return None
        item = item.expressions[0]
    if not isinstance(item, exp.PrimaryKey):
        return None
    return name, [identifier(e, "column") for e in item.expressions]


def _primary_key(schema: Schema, name: str | None, columns: list[str]) -> Unique:
    if schema.declared_key or schema.constraints.added_key is not None:
        raise InvalidTableDefinition(
            f'multiple primary keys for table "{schema.name}" are not allowed'
        )
    visible = {c.name for c in schema.visible}
    for column in columns:
        if column not in visible:
            raise UndefinedColumn(f'column "{column}" of relation "{schema.name}" does not exist')
    if len(set(columns)) != len(columns):
        raise InvalidTableDefinition("a column appears twice in the primary key")
    return Unique(name or schema.pkey_name, tuple(columns), primary=True)


def _check_rows(cur: duckdb.DuckDBPyConnection, schema: Schema, key: Unique) -> None:
    """The rows present satisfy the key, or Postgres's error for the first that does not."""
    table = f"main.{quote(schema.name)}"
    for column in key.columns:
        nulls = cur.execute(f"SELECT count(*) FROM {table} WHERE {quote(column)} IS NULL")
        if nulls.fetchall()[0][0]:
            raise NotNullViolation(
                f'column "{column}" of relation "{schema.name}" contains null values'
            )
    cols = ", ".join(quote(c) for c in key.columns)
    twice = cur.execute(
        f"SELECT {cols} FROM {table} GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
    ).fetchall()
    if twice:
        values = ", ".join(str(v) for v in twice[0])
        raise UniqueViolation(
            f'could not create unique index "{key.name}"',
            detail=f"Key ({', '.join(key.columns)})=({values}) is duplicated.",
        )


def _with_key(schema: Schema, key: Unique) -> Schema:
    """`schema` with the key added and its columns NOT NULL."""
    columns = tuple(replace(c, not_null=True) if c.name in key.columns else c
                    for c in schema.columns)  # fmt: skip
    uniques = (*schema.constraints.uniques, key)
    return replace(schema, columns=columns, constraints=replace(schema.constraints,
                                                                uniques=uniques))  # fmt: skip
