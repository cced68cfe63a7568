"""CREATE INDEX and DROP INDEX on namespaces: the index goes into (or out of) the namespace's
schema, a new manifest version (decision 0032).

A unique index is a uniqueness rule: it is refused (23505, as Postgres words it) when rows
already stored share a value, and from then on every write is checked against it as against
a UNIQUE constraint (enforce.py). Other indexes are recorded for the catalog only: scans do
not use them (decision 0029). Index names are relation names, as in Postgres: they may not
repeat a namespace's name, another index's, or a key's index (`t_pkey`, UNIQUE constraints).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace

import duckdb

from ...constraints import Constraints
from ...engine import Engine, Snapshot
from ...errors import (
    DependentObjectsStillExist,
    DuplicateTable,
    InvalidName,
    NotSupportedError,
    UndefinedObject,
    UndefinedTable,
    UniqueViolation,
)
from ...schema import Schema
from ..errors import translate
from ..views import ViewCatalog, rows_view
from .enforce import duplicated, key_text
from .indexes import CreateIndex, DropIndex, check_index, default_index_name


class IndexStatements:
    def __init__(self, engine: Engine, views: ViewCatalog) -> None:
        self._engine = engine
        self._views = views

    def create(self, cur: duckdb.DuckDBPyConnection, stmt: CreateIndex) -> str:
        index = stmt.index
        schema = self._views.refresh_one(stmt.table).schema
        check_index(index, schema)
        for key in index.keys:
            if key.column is None:  # bound by DuckDB over the namespace (nothing runs)
                try:
                    sql = f"SELECT {key.expression} FROM main.{rows_view(schema)} WHERE false"
                    cur.execute(sql).fetchall()
                except duckdb.Error as exc:
                    raise translate(exc) from None
        taken = self._relations(cur)
        if not index.name:
            name = default_index_name(schema.relname, index, lambda n: _in(schema, n) in taken)
            index = replace(index, name=name)
        elif _in(schema, index.name) in taken:
            if stmt.if_not_exists:
                return "CREATE INDEX"
            raise DuplicateTable(f'relation "{index.name}" already exists')

        def add(snap: Snapshot) -> Schema:
            if index.unique:
                self._views.refresh_one(stmt.table)
                found = duplicated(cur, f"main.{rows_view(snap.schema)}", index.columns)
                if found:
                    raise UniqueViolation(
                        f'could not create unique index "{index.name}"',
                        detail=f"{key_text(index.columns, found)} is duplicated.",
                    )
            cons = snap.schema.constraints
            return _with(snap.schema, replace(cons, indexes=(*cons.indexes, index)))

        self._engine.change_schema(stmt.table, add)
        self._views.refresh_one(stmt.table)  # the catalog shows it from here on
        return "CREATE INDEX"

    def drop(self, stmt: DropIndex, duckdb_has: Callable[[str], bool]) -> str | None:
        """DROP INDEX of namespaces' indexes (all of them are checked before any is
        dropped); None when a name is one of DuckDB's own tables' indexes."""
        if None in stmt.names:
            return None  # an index of another schema: DuckDB's
        owners = self.owners()
        found: list[tuple[str, str]] = []
        for name in stmt.names:
            assert name is not None
            if name in owners:
                owner, kind = owners[name]
                if kind != "index":
                    raise DependentObjectsStillExist(
                        f"cannot drop index {name} because constraint {name} on table "
                        f"{owner} requires it",
                        hint=f"You can drop constraint {name} on table {owner} instead.",
                    )
                found.append((owner, name))
            elif duckdb_has(name):
                return None
            elif not stmt.if_exists:
                raise UndefinedObject(f'index "{name}" does not exist')
        if stmt.cascade and found:
            raise NotSupportedError("DROP INDEX ... CASCADE is not supported")
        for owner, name in found:

            def remove(snap: Snapshot, name: str = name) -> Schema:
                cons = snap.schema.constraints
                kept = tuple(i for i in cons.indexes if _in(snap.schema, i.name) != name)
                dropped = {i.name for i in cons.indexes} - {i.name for i in kept}
                schema = _with(snap.schema, replace(cons, indexes=kept))
                for index in dropped:  # its comment goes with it
                    schema = schema.with_comment("index", index, None)
                return schema

            self._engine.change_schema(owner, remove)
            self._views.refresh_one(owner)
        return "DROP INDEX"

    def owners(self) -> dict[str, tuple[str, str]]:
        """Every namespace index and key index by name (qualified outside public, as
        namespaces are): (its table, "index" or "key")."""
        owners: dict[str, tuple[str, str]] = {}
        for table in self._engine.list_namespaces():
            with contextlib.suppress(UndefinedTable, InvalidName):
                schema = self._engine.namespace(table).snapshot().schema
                cons = schema.constraints
                if schema.declared_key:
                    owners[_in(schema, schema.pkey_name)] = (table, "key")
                owners.update({_in(schema, u.name): (table, "key") for u in cons.uniques})
                owners.update({_in(schema, i.name): (table, "index") for i in cons.indexes})
        return owners

    def _relations(self, cur: duckdb.DuckDBPyConnection) -> set[str]:
        """Names taken in schema public: namespaces, their indexes, DuckDB's relations."""
        duck = cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' UNION ALL "
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' UNION ALL "
            "SELECT index_name FROM duckdb_indexes() UNION ALL "
            "SELECT sequence_name FROM duckdb_sequences() WHERE schema_name = 'main'"
        ).fetchall()
        owners = self.owners()
        return {r[0] for r in duck} | set(owners) | {t for t, _ in owners.values()}


def _in(schema: Schema, name: str) -> str:
    """An index name of `schema`'s Postgres schema, qualified as namespace names are."""
    return name if schema.pg_schema == "public" else f"{schema.pg_schema}.{name}"


def _with(schema: Schema, constraints: Constraints) -> Schema:
    """`schema` with other constraints (checked as a new schema is)."""
    return replace(schema, constraints=constraints)
