"""One storage root opened in this process: the engine, a DuckDB database and the
namespace views, shared by every connection (embedded) or session (server).

`execute` is the statement router: CREATE/DROP TABLE and INSERT/UPDATE/DELETE on a
namespace go to the engine; everything else runs in DuckDB after the views of the
namespaces it names are brought up to date (a strong read).
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from ..cluster import ClusterNode
from ..config import Settings
from ..engine import Engine, EngineApi, Snapshot
from ..errors import (
    InvalidParameterValue,
    NotSupportedError,
    SyntaxError,
    UndefinedColumn,
    UndefinedTable,
)
from ..metrics import observe_statement
from ..schema import Schema
from .admin.admin_functions import install_admin_functions
from .admin.cluster_functions import install_cluster_functions
from .column_names import pg_names, source_columns
from .command_tags import command_tag, returns_rows
from .declared_types import declared_types, may_declare
from .dialect.float_literals import check_float_literals
from .dialect.pg_literals import duckdb_text, rewrite_literal_casts
from .dialect.pg_rewrite import reads_catalog
from .errors import translate
from .parse import DIALECT, Statement, referenced_tables, split_statements, table_name
from .pg_catalog.enum_types import EnumTypes, parse_type_statement
from .pg_catalog.install import duck_setting_names, install_pg_catalog
from .pg_catalog.pg_namespaces import register_namespace
from .pg_catalog.pg_schemas import PgSchemas, qualify
from .pg_catalog.pg_sequences import PgSequences
from .pg_catalog.snapshot import CatalogSnapshot
from .results import ArrowResult, DuckResult, Outcome, StreamResult
from .search.direct import DirectPath, recognise
from .search.pgvector_order import rewrite_nearest
from .search.pgvector_sql import install_pgvector
from .search.search_calls import rewrite_search_calls
from .search.search_functions import SearchFunctions
from .search.search_runner import SearchRunner
from .session import consistency
from .session.lockdown import lock_down, protected_locations
from .session.sandbox import FileAccess
from .session.session_state import SessionState
from .session.transactions import TransactionBlock
from .statements.alter_table import execute_alter
from .statements.comments import run_comment
from .statements.create_as import create_table_as
from .statements.ddl import execute_create, execute_drop
from .statements.dml import (
    STAGE,
    WritePlan,
    Written,
    execute_plan,
    plan_insert_many,
    plan_insert_table,
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
    SequenceFunctions,
    execute_create_sequence,
    execute_drop_sequence,
    sequence_name,
    sequence_tree,
)
from .statements.temp_tables import temp_table_with_serials
from .statements.truncate import execute_truncate, truncate_targets
from .statements.write_routing import WireForwarding
from .views import ViewCatalog

Params = Sequence[Any] | None
STREAM_BATCH_ROWS = 8192  # rows per Arrow batch of a streamed result (decision 0023)
RETURNED = "__elacsym_returned"  # the rows a write with RETURNING wrote


class Database:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = Engine(settings)
        self._duck = duckdb.connect(":memory:")
        # Let `SELECT * FROM df` find a DataFrame in the user's frame, not only in ours.
        self._duck.execute("SET GLOBAL python_scan_all_frames = true")
        # A library and a server must not draw progress bars on the host's stdout.
        self._duck.execute("SET enable_progress_bar = false")
        # Postgres's arithmetic: integer / integer truncates; any division by zero is an
        # error (sql/errors.py makes it 22012), not Infinity or NULL.
        self._duck.execute("SET GLOBAL integer_division = true")
        self.api = EngineApi(self.engine)
        install_admin_functions(self._duck, self.api, self._snapshot_of)
        #: This process's cluster membership, once `elacsym serve` joins one (cluster/).
        self.cluster: ClusterNode | None = None
        self.forwarding = WireForwarding(self._is_namespace)  # off until join_cluster()
        install_cluster_functions(self._duck, lambda: self.cluster, self.engine, settings)
        self.runner = SearchRunner(self._duck, self.api)
        self.search = SearchFunctions(self.runner, self._snapshot_of)
        self.views = ViewCatalog(self._duck, self.engine, self._on_schema)
        self.direct = DirectPath(self.engine, self.views, self.runner)
        self.indexes = IndexStatements(self.engine, self.views)
        self.pg_schemas = PgSchemas(self.engine.store, self._duck, self.engine.list_namespaces)
        install_pg_catalog(self._duck, self.engine)  # version(), jsonb, pg_class, ...
        self.pg_sequences = PgSequences(self.engine, self._duck, self.pg_schemas.names)
        install_pgvector(self._duck)  # the vector type and pgvector's distance operators
        self.enums = EnumTypes(self.engine.store, self._duck, self._columns_of_type)
        self.sequences = SequenceFunctions(self.engine)
        self.sequences.install(self._duck)  # nextval(), currval(), setval(), lastval()
        self._duck_settings = duck_setting_names(self._duck)
        self.file_access = FileAccess(
            protected_locations(settings.data, settings.cache_dir), is_namespace=self._is_namespace
        )
        self._readable: set[str] | None = None  # what DuckDB may read once locked down
        self._states: weakref.WeakKeyDictionary[Any, SessionState] = weakref.WeakKeyDictionary()
        self._streaming: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
        self.catalog = CatalogSnapshot(self._duck)
        self.catalog.install()  # last: it reads every catalog table made above

    def join_cluster(self, node: ClusterNode, forward_writes: bool) -> None:
        """Serve as the member `node`: `elacsym_cluster()` shows its view, and with
        `forward_writes` wire writes to namespaces others own go to their owners."""
        self.cluster = node
        if forward_writes:
            self.forwarding.join(node)

    def _on_schema(self, schema: Schema, duck: duckdb.DuckDBPyConnection) -> None:
        self.search.install(schema, duck)
        register_namespace(schema, duck)  # the catalog shows it as a table (pg_catalog.py)

    def _columns_of_type(self, column_type: str) -> list[str]:
        """Every namespace column of a scalar type (or an array of it), as "ns.column"."""
        found = []
        for name in self.engine.list_namespaces():
            with contextlib.suppress(UndefinedTable):
                schema = self.views.refresh_one(name).schema
                found += [f"{name}.{c.name}" for c in schema.columns if c.base == column_type]
        return found

    def tables_read(self, stmt: Statement, text: str) -> set[str]:
        """Namespaces a statement reads: those it names, or all of them for a catalog read."""
        names = referenced_tables(stmt.tree) if stmt.tree is not None else set(self.views.known)
        if reads_catalog(text):
            names |= set(self.engine.list_namespaces()) | set(self.views.known)
            self.pg_sequences.refresh()
        return names

    def new_session_state(self) -> SessionState:
        """Transaction block, client settings and file access for a new session."""
        block = TransactionBlock(self.engine.begin, self.views)
        # SQL cursors stream: DuckDB's DB-API result would hold the whole result until CLOSE.
        cursor_session = functools.partial(self.session, streaming=True)
        state = SessionState(self._duck_settings, block, cursor_session, self.file_access)
        state.settings.configure({consistency.SETTING: self.settings.consistency})
        return state

    def serve_wire(self, read_dirs: Iterable[str], user_dirs: Iterable[str] = ()) -> None:
        """Lock this database down for wire clients (sandbox.py), for good: DuckDB reads
        only the disk cache, `read_dirs` (every session's) and `user_dirs` (the sessions
        of users allowed them). Served twice, the second server may not read more."""
        readable = {self.engine.cache.directory, *read_dirs, *user_dirs}
        if self._readable is None:
            lock_down(self._duck, readable)
            self._readable = readable
            self.file_access = self.file_access.for_wire(read_dirs, self._global_settings())
        elif not readable <= self._readable:
            raise ValueError("this database is already served with fewer readable directories")

    def _global_settings(self) -> set[str]:
        rows = self._duck.execute(
            "SELECT lower(name) FROM duckdb_settings() WHERE scope = 'GLOBAL'"
        ).fetchall()
        return {name for (name,) in rows}

    def session_state(self, cur: duckdb.DuckDBPyConnection) -> SessionState:
        """The session state of a cursor used on its own (without a session of its own)."""
        state = self._states.get(cur)
        if state is None:
            state = self._states[cur] = self.new_session_state()
        return state

    def set_memory_limit(self, limit: str) -> None:
        """DuckDB's memory budget, shared by every statement of this process: past it a
        statement spills to disk where it can, else fails with 53200 (decision 0023)."""
        if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", limit, re.IGNORECASE):
            raise InvalidParameterValue(f"memory limit {limit!r} is not a size like 4GB")
        self._duck.execute(f"SET GLOBAL memory_limit = '{limit}'")

    def session(self, streaming: bool = False) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection of its own for one user connection or cursor. `streaming`:
        its queries' rows come as a StreamResult (Arrow batches, never held whole), for the
        server; otherwise as DuckDB's DB-API result."""
        cur = self._duck.cursor()
        if streaming:
            self._streaming.add(cur)
        self.sequences.open_session(cur)  # currval() answers per session
        return cur

    def execute(
        self,
        cur: duckdb.DuckDBPyConnection,
        sql: str,
        params: Params = None,
        session: SessionState | None = None,
    ) -> Outcome:
        """Run every statement of `sql`; returns the last one's outcome."""
        outcomes = list(self.execute_each(cur, sql, params, session))
        return outcomes[-1] if outcomes else Outcome("none", "EMPTY")

    def execute_each(
        self,
        cur: duckdb.DuckDBPyConnection,
        sql: str,
        params: Params = None,
        session: SessionState | None = None,
    ) -> Iterator[Outcome]:
        """Run the statements of `sql` one by one, yielding each outcome: read a result's
        rows before asking for the next statement, which reuses the cursor. `session`
        (default: the cursor's own) tracks transaction blocks and client settings."""
        state = session if session is not None else self.session_state(cur)
        door = "wire" if cur in self._streaming else "embedded"
        started = time.perf_counter()
        sent = sql  # as the client wrote it: what a write forwarded to its owner carries
        sql = self.rewrite(sql)
        if state.transaction.state == "idle":  # a block reads its own snapshot: DuckDB's way
            ef = state.settings.get("hnsw.ef_search")
            ef_search = int(ef) if ef is not None and ef.isdigit() and int(ef) > 0 else None
            nearest = rewrite_nearest(sql, params or [], self._namespace_schema, ef_search)
            if nearest is not None:
                sql, params = nearest
        eventual = state.settings.get(consistency.SETTING) == "eventual"
        direct = state.guard(lambda: self._direct_search(cur, sql, params or [], eventual))
        if direct is not None:
            observe_statement(door, direct.command, started)
            yield direct
            return
        statements = split_statements(sql)
        if len(statements) > 1 and params:
            raise SyntaxError("cannot insert multiple commands into a prepared statement")
        alone = sent if len(statements) == 1 else None
        for stmt in statements:
            outcome = state.run(
                cur, stmt, lambda s, on: self._checked(on, s, params or [], state, alone)
            )
            observe_statement(door, outcome.command, started)
            yield outcome
            started = time.perf_counter()

    def rewrite(self, sql: str) -> str:
        """What every statement text goes through before it is parsed: DuckDB's spelling
        (pg_literals.duckdb_text), and tables of other schemas as their namespaces' names."""
        return qualify(duckdb_text(sql), self.pg_schemas.names())

    def _direct_search(
        self, cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any], eventual: bool
    ) -> Outcome | None:
        """A plain search statement answered without DuckDB (direct.py), or None."""
        found = recognise(sql, params)
        answer = self.direct.run(found, eventual) if found is not None else None
        if answer is None:
            return None
        rows, types, schema = answer
        wire = declared_types([schema], list(zip(rows.column_names, types, strict=True)))
        return Outcome("rows", "SELECT", result=ArrowResult(rows, types, cur), types=wire)

    def execute_many(
        self,
        cur: duckdb.DuckDBPyConnection,
        sql: str,
        rows: Sequence[Sequence[Any]],
        session: SessionState | None = None,
    ) -> Outcome:
        """`executemany`: an INSERT of plain parameters becomes one atomic write."""
        statements = split_statements(self.rewrite(sql))
        if len(statements) != 1:
            raise SyntaxError("executemany takes exactly one statement")
        state = session if session is not None else self.session_state(cur)
        started = time.perf_counter()
        outcome = state.run(
            cur,
            statements[0],
            lambda stmt, on: self._execute_many(
                on, state.access.checked(stmt), rows, state.transaction
            ),
        )
        observe_statement("embedded", outcome.command, started)
        return outcome

    def _checked(
        self,
        cur: duckdb.DuckDBPyConnection,
        stmt: Statement,
        params: Sequence[Any],
        state: SessionState,
        sent: str | None = None,
    ) -> Outcome:
        """A statement the session's file access allows (sandbox.py), run here, its reads as
        consistent as the session asks, or, a write to a namespace another member owns, by
        that member (`sent`: the client's text)."""
        forwarded = self.forwarding.run(stmt, sent, params, state)
        if forwarded is not None:
            return forwarded
        with consistency.reads(state.settings.get(consistency.SETTING)):
            return self.execute_statement(
                cur, state.access.checked(stmt), params, state.transaction
            )

    def _execute_many(
        self,
        cur: duckdb.DuckDBPyConnection,
        stmt: Statement,
        rows: Sequence[Sequence[Any]],
        block: TransactionBlock,
    ) -> Outcome:
        if (
            isinstance(stmt.tree, exp.Insert)
            and rows
            and self._is_namespace(target_name(stmt.tree))
        ):
            plan = plan_insert_many(stmt.tree, rows)
            if plan is not None:
                return Outcome("count", "INSERT", self._write(cur, plan, block).table.num_rows)
        total = 0
        outcome = Outcome("none", "EMPTY")
        for row in rows:
            outcome = self.execute_statement(cur, stmt, row, block)
            total += max(outcome.rowcount, 0)
        return Outcome(outcome.kind, outcome.command, total) if outcome.kind == "count" else outcome

    def copy_columns(self, namespace: str, columns: Sequence[str]) -> list[tuple[str, str]]:
        """(name, type) of the columns a COPY names, or of all columns in order: what a
        COPY FROM client is told to send (a strong read of the namespace)."""
        schema = self.views.refresh_one(namespace).schema
        visible = [c.name for c in schema.visible]  # never a hidden key
        for name in columns:
            if name not in visible:
                raise UndefinedColumn(f'column "{name}" of relation "{namespace}" does not exist')
        names = columns or visible
        return [(name, schema.column(name).type) for name in names]

    def copy_in(
        self,
        cur: duckdb.DuckDBPyConnection,
        namespace: str,
        columns: Sequence[str],
        table: pa.Table,
        session: SessionState,
    ) -> int:
        """COPY FROM: `table` (one column per name in `columns`, text or values) into the
        namespace as one atomic write, through INSERT's path (casts, validation, upsert)."""
        plan = plan_insert_table(namespace, columns, table)
        return self._write(cur, plan, session.transaction).table.num_rows

    def execute_statement(
        self,
        cur: duckdb.DuckDBPyConnection,
        stmt: Statement,
        params: Sequence[Any],
        block: TransactionBlock,
    ) -> Outcome:
        tree = stmt.tree
        check_float_literals(stmt.text, params)
        try:
            tag = self._pg_utility(cur, stmt.text, block)
            if tag is not None:
                block.commit_point.reach()  # schema and index DDL took effect (decision 0037)
                return Outcome("none", tag)
            if tree is None or isinstance(tree, exp.Command | exp.Drop):
                type_stmt = parse_type_statement(stmt.text)
                if type_stmt is not None:
                    tag = self.enums.execute(type_stmt)
                    block.commit_point.reach()  # DDL takes effect at once (decision 0037)
                    return Outcome("none", tag)
            temp_table = temp_table_with_serials(tree)
            if temp_table is not None:
                for sql in temp_table:
                    cur.execute(sql)
                return Outcome("none", "CREATE TABLE")
            if isinstance(tree, exp.Create) and _creates_namespace(tree) and tree.expression:

                def run(sql: str) -> int:
                    [part] = split_statements(sql)
                    return self.execute_statement(cur, part, params, block).rowcount

                written = create_table_as(cur, tree, run, self._is_namespace)
                return Outcome("count", "SELECT", written)
            if isinstance(tree, exp.Create) and _creates_namespace(tree):
                name = execute_create(
                    self.engine,
                    tree,
                    self.enums.lookup,
                    lambda s: check_definitions(cur, s),
                    self.pg_schemas.names(),
                    stmt.text,
                )
                block.commit_point.reach()
                block.forget([name])
                self.pg_sequences.stale()  # its SERIAL columns' sequences
                return Outcome("none", "CREATE TABLE")
            sequence = self._sequence_ddl(sequence_tree(tree, stmt.text))
            if sequence is not None:
                block.commit_point.reach()
                self.pg_sequences.stale()
                return sequence
            if isinstance(tree, exp.TruncateTable):
                names = truncate_targets(tree)
                if names and all(n and self._is_namespace(n) for n in names):
                    execute_truncate(self.engine, self.views, cur, names, tree, block)  # type: ignore[arg-type]
                    return Outcome("none", "TRUNCATE TABLE")
            if isinstance(tree, exp.Drop) and (tree.args.get("kind") or "").upper() == "TABLE":
                names = [table_name(t) for t in tree.args.get("tables") or []]
                # DuckDB drops one object a statement: several are ours to drop (pgbench -i)
                if len(names) > 1 or any(n and self._is_namespace(n) for n in names):
                    execute_drop(self.engine, names, tree, block.commit_point.reach)
                    self.pg_sequences.stale()  # the sequences the tables owned
                    block.forget(n for n in names if n)
                    self.views.refresh(n for n in names if n)  # removes the views
                    return Outcome("none", "DROP TABLE")
            if isinstance(tree, exp.Insert | exp.Update | exp.Delete):
                name = target_name(tree)
                if self._is_namespace(name):
                    plan = plan_write(tree, stmt.text, params)
                    written = self._write(cur, plan, block)
                    verb = type(tree).__name__.upper()
                    if plan.returning is None:
                        return Outcome("count", verb, written.table.num_rows)
                    cur.register(RETURNED, written.rows)  # the rows as written
                    sql = returning_sql(plan.returning, plan.alias, written.schema, RETURNED)
                    cur.execute(sql)
                    names = pg_names(sql, [d[0] for d in cur.description or []])
                    result = DuckResult(cur, names)
                    outcome = Outcome("rows", verb, written.rows.num_rows, result)
                    return self._declared(outcome, [plan.namespace], sql)
            if isinstance(tree, exp.Alter) and isinstance(tree.this, exp.Table):
                name = table_name(tree.this)
                if name and self._is_namespace(name):
                    return Outcome("none", execute_alter(self.engine, self.views, cur, name, tree))
            result, names = self._query(cur, stmt, params, block)
            return self._declared(_duckdb_outcome(cur, stmt, result), names, stmt.text)
        except duckdb.Error as exc:
            dropping = tree.args.get("kind") if isinstance(tree, exp.Drop) else None
            raise translate(exc, str(dropping).lower() if dropping else None) from None

    def _pg_utility(
        self, cur: duckdb.DuckDBPyConnection, text: str, block: TransactionBlock
    ) -> str | None:
        """The tag of an EXTENSION, INDEX, VACUUM or ANALYZE statement answered here, or
        None."""

        def duckdb_has(name: str) -> bool:
            sql = "SELECT count(*) FROM duckdb_indexes() WHERE index_name = ?"
            return bool(cur.execute(sql, [name]).fetchall()[0][0])

        tag = run_extension_statement(text) or self.pg_schemas.run(text)
        if tag is not None:
            return tag
        commented = run_comment(text, self.engine, self._namespace_schema, self.indexes.owners)
        if commented is not None:
            self.views.refresh_one(commented[0])  # the catalog shows it from now on
            return commented[1]
        create = parse_create_index(text)
        if create is not None and create[1] is not None and self._is_namespace(create[0]):
            return self.indexes.create(cur, create[1])
        drop = parse_drop_index(text)
        if drop is not None:
            return self.indexes.drop(drop, duckdb_has)

        def relation_exists(name: str) -> bool:
            sql = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?"
            return bool(cur.execute(sql, [name]).fetchall()[0][0])

        return run_maintenance(
            text, self._namespace_schema, relation_exists, block.active is not None
        )

    def declared_schemas(self, names: Iterable[str]) -> list[Schema]:
        """The schemas of those of `names` that are namespaces whose views are shown (a
        statement that read them refreshed them)."""
        return [self.views.snapshot_of(n).schema for n in names if self.views.shows(n)]

    def _declared(self, outcome: Outcome, names: Iterable[str], text: str) -> Outcome:
        """`outcome` of statement `text` with the wire types of columns read from
        namespaces' vector and jsonb columns (declared_types.py)."""
        if outcome.kind != "rows" or outcome.result is None:
            return outcome
        schemas = self.declared_schemas(names)
        if not may_declare(schemas, text):
            return outcome
        columns = [(d[0], str(d[1])) for d in outcome.result.description]
        sources = source_columns(text, len(columns))
        types = declared_types(schemas, columns, sources)
        return outcome if types is None else replace(outcome, types=types)

    def _query(
        self,
        cur: duckdb.DuckDBPyConnection,
        stmt: Statement,
        params: Sequence[Any],
        block: TransactionBlock,
    ) -> tuple[DuckResult | StreamResult, set[str]]:
        """Run a statement in DuckDB over up-to-date views of the namespaces it names (in a
        transaction block: over the block's snapshot of them); returns the result and the
        names of the tables it reads."""
        text, searched = rewrite_search_calls(rewrite_literal_casts(stmt.text))
        names = self.tables_read(stmt, text) | searched
        eventual = consistency.eventual() and block.active is None
        for name in searched:
            self.views.refresh_one(name, eventual)  # an unknown namespace is an error here
        self.views.refresh(names - searched, eventual)
        self.views.settle(names)
        if reads_catalog(text):
            self.catalog.ensure_fresh()
        if block.active is not None:
            block.show(cur, names)
        # Only queries stream: DuckDB's stream format fails other statements after they ran.
        stream = cur in self._streaming and isinstance(stmt.tree, exp.Query)

        def run() -> DuckResult | StreamResult:
            cur.abort()
            if stream:
                submitted = cur._submit(text, params or None, "stream", STREAM_BATCH_ROWS)
                return StreamResult(submitted)
            cur.execute(text, params or None)
            return DuckResult(cur)

        try:
            return run(), names
        except duckdb.IOException:
            # A segment file left the disk cache under a view: fetch again, run once more.
            self.views.forget(names)
            self.views.refresh(names)
            return run(), names

    def _sequence_ddl(self, tree: exp.Expression | None) -> Outcome | None:
        """CREATE / DROP SEQUENCE (not TEMP): durable sequences of the engine."""
        if not isinstance(tree, exp.Create | exp.Drop):
            return None
        if str(tree.args.get("kind") or "").upper() != "SEQUENCE":
            return None
        if isinstance(tree, exp.Create):
            if not _creates_namespace(tree, "SEQUENCE"):
                return None
            execute_create_sequence(self.engine, tree, _sequence_of(tree.this))
            return Outcome("none", "CREATE SEQUENCE")
        names = [_sequence_of(t) for t in tree.args.get("tables") or []]
        execute_drop_sequence(self.engine, names, bool(tree.args.get("exists")))
        return Outcome("none", "DROP SEQUENCE")

    def _write(
        self, cur: duckdb.DuckDBPyConnection, plan: WritePlan, block: TransactionBlock
    ) -> Written:
        tx = block.active
        try:
            if tx is None:
                written = execute_plan(self.engine, self.views, cur, plan)
                block.commit_point.reach()  # durable: a cancel from now on is too late
                return written
            self.views.refresh(plan.reads - {plan.namespace})
            block.show(cur, plan.reads)  # what it reads, it reads at the block's snapshot

            def show(names: Iterable[str]) -> None:
                names = set(names)
                self.views.refresh(names - {plan.namespace})
                block.show(cur, names)

            return stage_plan(tx, self.engine, cur, plan, show)
        except duckdb.Error as exc:
            err = translate(exc)
            err.message = err.message.replace(STAGE, plan.namespace)
            err.args = (err.message,)
            raise err from None

    def _snapshot_of(self, name: str) -> Snapshot:
        return self.views.snapshot_of(name)

    def _namespace_schema(self, name: str) -> Schema | None:
        """The schema of namespace `name` (a strong read), or None if it is not one."""
        return self.views.refresh_one(name).schema if self._is_namespace(name) else None

    def _is_namespace(self, name: str) -> bool:
        """Whether `name` is a namespace. A name whose view exists answers without I/O: the
        write or DDL that follows reads the namespace strongly anyway, and reports a
        namespace dropped meanwhile as undefined."""
        if self.views.shows(name):
            return True
        try:
            self.views.refresh_one(name)
        except UndefinedTable:
            return False
        return True

    def close(self) -> None:
        self.forwarding.close()
        self.engine.close()
        self._duck.close()


def _sequence_of(table: exp.Expression) -> str:
    """A sequence's name as written in DDL (public. or none as its schema)."""
    assert isinstance(table, exp.Table)
    if table.args.get("catalog") or (table.db and table.db.lower() not in ("main", "public")):
        raise NotSupportedError(f"sequence {table.sql()} must be in schema public")
    ident = table.this
    return sequence_name(ident.sql(DIALECT) if ident.quoted else ident.name)


def _creates_namespace(tree: exp.Create, kind: str = "TABLE") -> bool:
    """Whether CREATE makes one of ours (a namespace, a sequence): not TEMP ones."""
    if (tree.args.get("kind") or "").upper() != kind:
        return False
    props = tree.args.get("properties")
    temporary = props is not None and any(
        isinstance(p, exp.TemporaryProperty) for p in props.expressions
    )
    return not temporary


def _duckdb_outcome(
    cur: duckdb.DuckDBPyConnection, stmt: Statement, result: DuckResult | StreamResult
) -> Outcome:
    """What a statement DuckDB ran did: rows, a count, or (a utility statement) its
    Postgres command tag alone, never DuckDB's 'Success' row."""
    tree = stmt.tree
    if isinstance(tree, exp.Insert | exp.Update | exp.Delete):
        return Outcome("rows", _command(tree), result=result)
    if isinstance(result, StreamResult) or returns_rows(stmt.text):
        names = pg_names(stmt.text, [d[0] for d in result.description])
        return Outcome("rows", _command(tree), result=result.renamed(names))
    tag = command_tag(stmt.text)
    counted = bool(cur.description) and cur.description[0][0] == "Count"  # type: ignore[index]
    rows = cur.fetchall() if cur.description else []
    if tag == "CREATE TABLE" and counted and rows:
        return Outcome("count", "SELECT", int(rows[0][0]))  # CREATE TABLE AS: "SELECT n"
    return Outcome("none", tag)


def _command(tree: exp.Expression | None) -> str:
    if tree is None:
        return "SELECT"
    return {exp.Select: "SELECT", exp.Union: "SELECT", exp.Values: "SELECT"}.get(
        type(tree), type(tree).__name__.upper()
    )
