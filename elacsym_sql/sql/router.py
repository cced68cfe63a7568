"""The statement router: each parsed statement to what runs it. DDL, writes, TRUNCATE and
ALTER on namespaces, sequences, enum types, schemas and indexes go to the engine (through
the statements/ modules); every other statement runs in DuckDB (duck_queries.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb
from sqlglot import exp

from ..engine import Engine
from ..errors import (
    DuplicateTable,
    NotSupportedError,
    UndefinedTable,
)
from ..schema import Schema
from .column_names import pg_names
from .dialect.float_literals import check_float_literals
from .duck_queries import DuckQueries
from .errors import translate
from .parse import DIALECT, Statement, split_statements, table_name
from .pg_catalog.enum_types import EnumTypes, parse_type_statement
from .pg_catalog.pg_schemas import PgSchemas
from .pg_catalog.pg_sequences import PgSequences
from .results import DuckResult, Outcome
from .session.transactions import TransactionBlock
from .statements.alter_table import execute_alter
from .statements.comments import run_comment
from .statements.create_as import create_table_as
from .statements.ddl import (
    check_drop,
    created_name,
    creates_namespace,
    execute_create,
    execute_drop,
)
from .statements.dml import (
    STAGE,
    WritePlan,
    Written,
    execute_plan,
    plan_write,
    returning_sql,
    stage_plan,
    target_name,
)
from .statements.enforce import check_definitions
from .statements.extensions import run_extension_statement
from .statements.index_ddl import IndexStatements
from .statements.indexes import parse_create_index, parse_drop_index
from .statements.maintenance import run_maintenance
from .statements.sequences import (
    execute_create_sequence,
    execute_drop_sequence,
    sequence_name,
    sequence_tree,
)
from .statements.stored_views import StoredViews, dropped_views, is_view_ddl
from .statements.temp_tables import temp_table_with_serials
from .statements.truncate import execute_truncate, truncate_targets
from .views import ViewCatalog

RETURNED = "__elacsym_returned"  # the rows a write with RETURNING wrote
_DROP_IF_EXISTS = exp.Drop(kind="TABLE", exists=True)  # a block's deferred drops and undos
# DDL that refuses while a table depends on what it drops (sqlglot reads some as Command).
_DROPS_DEPENDENTS = re.compile(r"\s*DROP\s+(TYPE|SEQUENCE|SCHEMA|DOMAIN)\b", re.IGNORECASE)


class Router:
    def __init__(
        self,
        engine: Engine,
        views: ViewCatalog,
        duck: DuckQueries,
        enums: EnumTypes,
        pg_schemas: PgSchemas,
        pg_sequences: PgSequences,
        indexes: IndexStatements,
        stored_views: StoredViews,
    ) -> None:
        self._engine = engine
        self._views = views
        self._duck = duck
        self._enums = enums
        self._pg_schemas = pg_schemas
        self._pg_sequences = pg_sequences
        self._indexes = indexes
        self._stored_views = stored_views

    def is_namespace(self, name: str) -> bool:
        """Whether `name` is a namespace. A name whose view exists answers without I/O: the
        write or DDL that follows reads the namespace strongly anyway, and reports a
        namespace dropped meanwhile as undefined."""
        if self._views.shows(name):
            return True
        try:
            self._views.refresh_one(name)
        except UndefinedTable:
            return False
        return True

    def namespace_schema(self, name: str) -> Schema | None:
        """The schema of namespace `name` (a strong read), or None if it is not one."""
        return self._views.refresh_one(name).schema if self.is_namespace(name) else None

    def execute_statement(
        self,
        cur: duckdb.DuckDBPyConnection,
        stmt: Statement,
        params: Sequence[Any],
        block: TransactionBlock,
    ) -> Outcome:
        """Run one statement the session's file access allowed (sandbox.py)."""
        tree = stmt.tree
        check_float_literals(stmt.text, params)
        try:
            if block.active is not None and block.dropping and _DROPS_DEPENDENTS.match(stmt.text):
                block.drop_all_now()  # what it drops may need the tables gone: decision 0071
                block.show_hidden(cur)
            tag = self._pg_utility(cur, stmt.text, block)
            if tag is not None:
                block.commit_point.reach()  # schema and index DDL took effect (decision 0037)
                return Outcome("none", tag)
            if tree is None or isinstance(tree, exp.Command | exp.Drop):
                type_stmt = parse_type_statement(stmt.text)
                if type_stmt is not None:
                    tag = self._enums.execute(type_stmt)
                    block.commit_point.reach()  # DDL takes effect at once (decision 0037)
                    return Outcome("none", tag)
            temp_table = temp_table_with_serials(tree)
            if temp_table is not None:
                for sql in temp_table:
                    cur.execute(sql)
                return Outcome("none", "CREATE TABLE")
            if isinstance(tree, exp.Create) and creates_namespace(tree) and tree.expression:

                def run(sql: str) -> int:
                    [part] = split_statements(sql)
                    return self.execute_statement(cur, part, params, block).rowcount

                written = create_table_as(cur, tree, run, self.is_namespace)
                return Outcome("count", "SELECT", written)
            if isinstance(tree, exp.Create) and creates_namespace(tree):
                if block.active is not None and created_name(tree) in block.dropping:
                    block.drop_now(created_name(tree))  # DROP + CREATE: decision 0071
                    block.show_hidden(cur)
                if self._stored_views.exists(created_name(tree)):
                    raise DuplicateTable(f'relation "{created_name(tree)}" already exists')
                name = execute_create(
                    self._engine,
                    tree,
                    self._enums.lookup,
                    lambda s: check_definitions(cur, s),
                    self._pg_schemas.names(),
                    stmt.text,
                )
                block.commit_point.reach()
                block.forget([name])
                self._pg_sequences.stale()  # its SERIAL columns' sequences
                if block.active is not None:
                    block.undo_on_rollback(lambda: self._drop([name], _DROP_IF_EXISTS))
                return Outcome("none", "CREATE TABLE")
            if is_view_ddl(tree, exp.Create):
                assert isinstance(tree, exp.Create)
                replace = bool(tree.args.get("replace"))
                outcome: list[Outcome] = []
                self._stored_views.create(
                    cur,
                    created_name(tree),
                    replace,
                    lambda: outcome.append(self._duck.run(cur, stmt, params, block)),
                )
                block.commit_point.reach()  # DDL takes effect at once (decision 0037)
                return outcome[0]
            if is_view_ddl(tree, exp.Drop) and not _temporary_views(cur, tree):
                assert isinstance(tree, exp.Drop)
                self._stored_views.drop(dropped_views(tree), bool(tree.args.get("exists")))
                block.commit_point.reach()
                return Outcome("none", "DROP VIEW")
            sequence = self._sequence_ddl(sequence_tree(tree, stmt.text))
            if sequence is not None:
                block.commit_point.reach()
                self._pg_sequences.stale()
                return sequence
            if isinstance(tree, exp.TruncateTable):
                names = truncate_targets(tree)
                _refuse_dropped(block, names)
                if names and all(n and self.is_namespace(n) for n in names):
                    execute_truncate(self._engine, self._views, cur, names, tree, block)  # type: ignore[arg-type]
                    return Outcome("none", "TRUNCATE TABLE")
            if isinstance(tree, exp.Drop) and (tree.args.get("kind") or "").upper() == "TABLE":
                names = [table_name(t) for t in tree.args.get("tables") or []]
                # DuckDB drops one object a statement: several are ours to drop (pgbench -i)
                if len(names) > 1 or any(n and self.is_namespace(n) for n in names):
                    if block.active is None:
                        self._drop(names, tree, block)
                        return Outcome("none", "DROP TABLE")
                    # In a block: checked now, dropped at COMMIT (decision 0071).
                    present = check_drop(self._engine, names, tree, block.dropping)
                    block.defer_drop(present, lambda: self._drop(present, _DROP_IF_EXISTS))
                    block.show_hidden(cur)
                    return Outcome("none", "DROP TABLE")
            if isinstance(tree, exp.Insert | exp.Update | exp.Delete):
                name = target_name(tree)
                _refuse_dropped(block, [name])
                if self.is_namespace(name):
                    plan = plan_write(tree, stmt.text, params)
                    written = self.write(cur, plan, block)
                    verb = type(tree).__name__.upper()
                    if plan.returning is None:
                        return Outcome("count", verb, written.table.num_rows)
                    cur.register(RETURNED, written.rows)  # the rows as written
                    sql = returning_sql(plan.returning, plan.alias, written.schema, RETURNED)
                    cur.execute(sql)
                    names = pg_names(sql, [d[0] for d in cur.description or []])
                    result = DuckResult(cur, names)
                    outcome = Outcome("rows", verb, written.rows.num_rows, result)
                    return self._duck.declared(outcome, [plan.namespace], sql)
            if isinstance(tree, exp.Alter) and isinstance(tree.this, exp.Table):
                name = table_name(tree.this)
                _refuse_dropped(block, [name])
                if name and self.is_namespace(name):
                    return Outcome(
                        "none", execute_alter(self._engine, self._views, cur, name, tree)
                    )
            return self._duck.run(cur, stmt, params, block)
        except duckdb.Error as exc:
            dropping = tree.args.get("kind") if isinstance(tree, exp.Drop) else None
            raise translate(exc, str(dropping).lower() if dropping else None) from None

    def _drop(
        self, names: list[str | None], tree: exp.Drop, block: TransactionBlock | None = None
    ) -> None:
        """DROP TABLE of namespaces, now: their sequences and views go with them."""
        took_effect = block.commit_point.reach if block is not None else lambda: None
        try:
            execute_drop(self._engine, names, tree, took_effect)
        finally:
            self._pg_sequences.stale()  # the sequences the tables owned
            if block is not None:
                block.forget(n for n in names if n)
            self._views.refresh(n for n in names if n)  # removes the views

    def _pg_utility(
        self, cur: duckdb.DuckDBPyConnection, text: str, block: TransactionBlock
    ) -> str | None:
        """The tag of an EXTENSION, INDEX, VACUUM or ANALYZE statement answered here, or
        None."""

        def duckdb_has(name: str) -> bool:
            sql = "SELECT count(*) FROM duckdb_indexes() WHERE index_name = ?"
            return bool(cur.execute(sql, [name]).fetchall()[0][0])

        tag = run_extension_statement(text) or self._pg_schemas.run(text)
        if tag is not None:
            return tag
        commented = run_comment(text, self._engine, self.namespace_schema, self._indexes.owners)
        if commented is not None:
            self._views.refresh_one(commented[0])  # the catalog shows it from now on
            return commented[1]
        create = parse_create_index(text)
        if create is not None and create[1] is not None and self.is_namespace(create[0]):
            return self._indexes.create(cur, create[1])
        drop = parse_drop_index(text)
        if drop is not None:
            return self._indexes.drop(drop, duckdb_has)

        def relation_exists(name: str) -> bool:
            sql = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?"
            return bool(cur.execute(sql, [name]).fetchall()[0][0])

        return run_maintenance(
            text, self.namespace_schema, relation_exists, block.active is not None
        )

    def _sequence_ddl(self, tree: exp.Expression | None) -> Outcome | None:
        """CREATE / DROP SEQUENCE (not TEMP): durable sequences of the engine."""
        if not isinstance(tree, exp.Create | exp.Drop):
            return None
        if str(tree.args.get("kind") or "").upper() != "SEQUENCE":
            return None
        if isinstance(tree, exp.Create):
            if not creates_namespace(tree, "SEQUENCE"):
                return None
            execute_create_sequence(self._engine, tree, _sequence_of(tree.this))
            return Outcome("none", "CREATE SEQUENCE")
        names = [_sequence_of(t) for t in tree.args.get("tables") or []]
        execute_drop_sequence(self._engine, names, bool(tree.args.get("exists")))
        return Outcome("none", "DROP SEQUENCE")

    def write(
        self, cur: duckdb.DuckDBPyConnection, plan: WritePlan, block: TransactionBlock
    ) -> Written:
        tx = block.active
        try:
            # The views it reads, and the tables under them, as of now (decision 0091).
            self._stored_views.sync(plan.sources - {plan.namespace})
            if tx is None:
                written = execute_plan(self._engine, self._views, cur, plan)
                block.commit_point.reach()  # durable: a cancel from now on is too late
                return written
            self._views.refresh(plan.reads - {plan.namespace})
            block.show(cur, plan.reads)  # what it reads, it reads at the block's snapshot

            def show(names: Iterable[str]) -> None:
                names = set(names)
                self._views.refresh(names - {plan.namespace})
                block.show(cur, names)

            return stage_plan(tx, self._engine, cur, plan, show)
        except duckdb.Error as exc:
            err = translate(exc)
            err.message = err.message.replace(STAGE, plan.namespace)
            err.args = (err.message,)
            raise err from None


def _refuse_dropped(block: TransactionBlock, names: Iterable[str | None]) -> None:
    """A table the block dropped (at COMMIT) is gone for the block's statements: 42P01."""
    dropped = block.dropping if block.active is not None else set()
    for name in names:
        if name in dropped:
            raise UndefinedTable(f'relation "{name}" does not exist')


def _temporary_views(cur: duckdb.DuckDBPyConnection, tree: exp.Drop) -> bool:
    """Whether DROP VIEW names a temporary view of the session (Postgres finds those
    first): DuckDB drops it."""
    names = [n for n in dropped_views(tree) if n is not None]
    sql = "SELECT count(*) FROM duckdb_views() WHERE temporary AND list_contains(?, view_name)"
    return bool(names) and bool(cur.execute(sql, [names]).fetchall()[0][0])


def _sequence_of(table: exp.Expression) -> str:
    """A sequence's name as written in DDL (public. or none as its schema)."""
    assert isinstance(table, exp.Table)
    if table.args.get("catalog") or (table.db and table.db.lower() not in ("main", "public")):
        raise NotSupportedError(f"sequence {table.sql()} must be in schema public")
    ident = table.this
    return sequence_name(ident.sql(DIALECT) if ident.quoted else ident.name)
