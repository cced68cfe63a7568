"""One storage root opened in this process: the engine, a DuckDB database and the
namespace views, shared by every connection (embedded) or session (server).

`execute` splits a text into statements and runs each in its session (transaction block,
settings, file access): a plain search statement straight on the engine (search/direct.py),
any other through the statement router (router.py), which sends namespaces' DDL and writes
to the engine and the rest to DuckDB over up-to-date views (duck_queries.py).
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from ..cluster import ClusterNode
from ..cluster.maintenance import compact_at_owner
from ..cluster.observer import ClusterObserver
from ..config import Settings
from ..engine import Engine, EngineApi, Snapshot
from ..errors import (
    ElacsymError,
    InvalidParameterValue,
    InvalidSchemaName,
    SyntaxError,
    UndefinedColumn,
    UndefinedTable,
)
from ..metrics import observe_statement
from ..schema import Schema
from .admin.admin_functions import install_admin_functions
from .admin.cluster_functions import install_cluster_functions
from .declared_types import declared_types
from .dialect.pg_literals import duckdb_text
from .duck_queries import DuckQueries
from .parse import Statement, split_statements
from .pg_catalog.enum_types import EnumTypes
from .pg_catalog.install import duck_setting_names, install_pg_catalog
from .pg_catalog.pg_namespaces import register_namespace
from .pg_catalog.pg_schemas import PgSchemas, qualify
from .pg_catalog.pg_sequences import PgSequences
from .pg_catalog.snapshot import CatalogSnapshot
from .results import ArrowResult, Outcome
from .router import Router
from .search.direct import DirectPath, recognise
from .search.pgvector_order import rewrite_nearest
from .search.pgvector_sql import install_pgvector
from .search.search_functions import SearchFunctions
from .search.search_runner import SearchRunner
from .session import consistency
from .session.lockdown import lock_down, protected_locations
from .session.sandbox import FileAccess
from .session.search_path import find_table, path_of, resolve_tables
from .session.session_state import SessionState
from .session.transactions import TransactionBlock
from .statements.dml import (
    plan_insert_many,
    plan_insert_table,
    target_name,
)
from .statements.index_ddl import IndexStatements
from .statements.sequences import (
    SequenceFunctions,
)
from .statements.stored_views import StoredViews
from .statements.write_routing import WireForwarding, forwarded_error
from .views import ViewCatalog

Params = Sequence[Any] | None


class Database:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = Engine(settings)
        self._duck = duckdb.connect(":memory:")
        # Never look up Python variables as tables: only the embedded caller's are found,
        # by sql/python_variables.py.
        self._duck.execute("SET GLOBAL python_enable_replacements = false")
        # A library and a server must not draw progress bars on the host's stdout.
        self._duck.execute("SET enable_progress_bar = false")
        # Postgres's arithmetic: integer / integer truncates; any division by zero is an
        # error (sql/errors.py makes it 22012), not Infinity or NULL.
        self._duck.execute("SET GLOBAL integer_division = true")
        self.api = EngineApi(self.engine)
        install_admin_functions(self._duck, self.api, self._snapshot_of, self.compact)
        #: This process's cluster membership, once `elacsym serve` joins one (cluster/).
        self.cluster: ClusterNode | None = None
        # Off until join_cluster(); asks the router (made below) which names are namespaces.
        self.forwarding = WireForwarding(
            lambda name: self.router.is_namespace(name),
            lambda: self.indexes.owners(),
            self._forwarded_ddl,
        )
        install_cluster_functions(self._duck, lambda: self.cluster, self.engine, settings)
        self.runner = SearchRunner(self._duck, self.api)
        self.search = SearchFunctions(self.runner, self._snapshot_of)
        self.views = ViewCatalog(self._duck, self.engine, self._on_schema)
        self.direct = DirectPath(self.engine, self.views, self.runner)
        self.indexes = IndexStatements(self.engine, self.views)
        self.pg_schemas = PgSchemas(
            self.engine.schemas, self._duck, self.engine.list_namespaces, self.engine.views.names
        )
        install_pg_catalog(self._duck, self.engine)  # version(), jsonb, pg_class, ...
        self.pg_sequences = PgSequences(self.engine, self._duck, self.pg_schemas.names)
        install_pgvector(self._duck)  # the vector type and pgvector's distance operators
        self.enums = EnumTypes(self.engine.types, self._duck, self._columns_of_type)
        self.stored_views = StoredViews(
            self.engine.views,
            self._duck,
            lambda name: self.router.is_namespace(name),
            self.views.shows,
            self.views.refresh,
        )
        self.duck_queries = DuckQueries(
            self.engine,
            self.views,
            self.pg_sequences,
            lambda: self.catalog.ensure_fresh(),
            self.stored_views,
        )
        self.router = Router(
            self.engine,
            self.views,
            self.duck_queries,
            self.enums,
            self.pg_schemas,
            self.pg_sequences,
            self.indexes,
            self.stored_views,
        )
        self.sequences = SequenceFunctions(self.engine)
        self.sequences.install(self._duck)  # nextval(), currval(), setval(), lastval()
        self._duck_settings = duck_setting_names(self._duck)
        self.file_access = FileAccess(
            protected_locations(settings.data, settings.cache_dir),
            is_namespace=self.router.is_namespace,
        )
        self._readable: set[str] | None = None  # what DuckDB may read once locked down
        self._states: weakref.WeakKeyDictionary[Any, SessionState] = weakref.WeakKeyDictionary()
        self.catalog = CatalogSnapshot(self._duck)
        self.catalog.install()  # last: it reads every catalog table made above

    def join_cluster(self, node: ClusterNode, forward_writes: bool) -> None:
        """Serve as the member `node`: `elacsym_cluster()` shows its view, and with
        `forward_writes` wire writes to namespaces others own go to their owners (logging
        in with the cluster secret, when there is one)."""
        self.cluster = node
        if forward_writes:
            self.forwarding.join(node, self.settings.cluster_secret or None)

    def observe_cluster(self) -> None:
        """As an embedded connection to a cluster's root (`connect(..., cluster=True)`):
        writes to namespaces a member owns go to it (decision 0084); no membership."""
        observer = ClusterObserver(self.engine, self.settings)
        self.forwarding.join(observer, self.settings.cluster_secret or None, "embedded")

    def compact(self, name: str) -> dict[str, Any]:
        """Fold, compact and collect namespace `name` now, at its owner when another member
        owns it (decision 0090); returns its stats, as elacsym_stats has them."""
        stats = compact_at_owner(self.forwarding.node, name, forwarded_error)
        if stats is None:
            return self.api.compact(name)
        self._forwarded_ddl([name])  # its new manifest, here at once
        return stats

    def _forwarded_ddl(self, names: list[str]) -> None:
        """The owner ran DDL (or a compaction) on `names` for one of our sessions: show what
        it did here."""
        for name in names:  # a manifest is otherwise re-read only every so often
            self.engine.namespace(name).reload_manifest()
        self.views.refresh(names)  # a dropped namespace's view goes, a new one's comes
        self.pg_sequences.stale()  # its SERIAL columns' sequences

    def _on_schema(self, schema: Schema, duck: duckdb.DuckDBPyConnection) -> None:
        self.search.install(schema, duck)
        register_namespace(schema, duck)  # the catalog shows it as a table (pg_catalog/)

    def _columns_of_type(self, column_type: str) -> list[str]:
        """Every namespace column of a scalar type (or an array of it), as "ns.column"."""
        found = []
        for name in self.engine.list_namespaces():
            with contextlib.suppress(UndefinedTable):
                schema = self.views.refresh_one(name).schema
                found += [f"{name}.{c.name}" for c in schema.columns if c.base == column_type]
        return found

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
            # DuckDB's allocator (jemalloc on Linux) keeps freed pages per thread until that
            # thread allocates again; a server's threads go idle with them (decision 0048).
            self._duck.execute("SET GLOBAL allocator_background_threads = true")
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
            self.duck_queries.streaming.add(cur)
        self.sequences.open_session(cur)  # currval() answers per session
        return cur

    def names_a_relation(self, cur: duckdb.DuckDBPyConnection, name: str) -> bool:
        """Whether `name` is a namespace, or a table or view (of any schema, the session's
        temporary ones included) that `cur`, a session's connection, sees."""
        found = cur.execute(
            "SELECT 1 FROM duckdb_tables() WHERE table_name = $1 "
            "UNION ALL SELECT 1 FROM duckdb_views() WHERE view_name = $1",
            [name],
        ).fetchall()
        return bool(found) or self.router.is_namespace(name)

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
        door = "wire" if cur in self.duck_queries.streaming else "embedded"
        started = time.perf_counter()
        sent = sql  # as the client wrote it: what a write forwarded to its owner carries
        sql, by_path = self._rewritten(sql, state)
        if state.transaction.state == "idle":  # a block reads its own snapshot: DuckDB's way
            ef = state.settings.get("hnsw.ef_search")
            ef_search = int(ef) if ef is not None and ef.isdigit() and int(ef) > 0 else None
            nearest = rewrite_nearest(sql, params or [], self.router.namespace_schema, ef_search)
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
        for stmt, text in zip(statements, self._sendable(sent, statements, by_path), strict=True):
            outcome = state.run(
                cur, stmt, lambda s, on, t=text: self._checked(on, s, params or [], state, t)
            )
            observe_statement(door, outcome.command, started)
            yield outcome
            started = time.perf_counter()

    def _sendable(self, sent: str, statements: list[Statement], by_path: bool) -> list[str | None]:
        """What each of `statements` would send to an owner: the client's text of it (None:
        not sendable), unless the session's search_path named its tables (the owner's
        sessions have their own path). Each statement of several is its own (decision 0090)."""
        if len(statements) == 1 and not by_path:
            return [sent]
        if by_path or self.forwarding.node is None:
            return [None] * len(statements)
        pieces = split_statements(sent)
        if len(pieces) != len(statements):
            return [None] * len(statements)
        return [piece.text for piece in pieces]

    def rewrite(self, sql: str, state: SessionState | None = None) -> str:
        """What every statement text goes through before it is parsed: DuckDB's spelling
        (pg_literals.duckdb_text), and tables of other schemas as their namespaces' names,
        written `s.t` or found along the session's search_path."""
        return self._rewritten(sql, state)[0]

    def _rewritten(self, sql: str, state: SessionState | None) -> tuple[str, bool]:
        """rewrite(), and whether the session's search_path changed what the text names."""
        schemas = self.pg_schemas.names()
        text = qualify(duckdb_text(sql), schemas)
        if state is None:
            return text, False
        path = path_of(state.settings.get("search_path") or "")
        resolved = resolve_tables(text, path, schemas, self._is_namespace)
        return resolved, resolved != text

    def copy_target(self, name: str, schema: str | None, state: SessionState) -> str:
        """The namespace `COPY [schema.]name` writes: the written schema's table, else the
        one the session's search_path finds."""
        if schema is None:
            path = path_of(state.settings.get("search_path") or "")
            return find_table(path, self.pg_schemas.names(), name, self._is_namespace)
        if schema != "public" and schema not in self.pg_schemas.names():
            raise InvalidSchemaName(f'schema "{schema}" does not exist')
        return name

    def _is_namespace(self, name: str) -> bool:
        if name.rpartition(".")[2].startswith("pg_"):
            return False  # the catalog's relations: never a namespace, no lookup
        try:
            return self.router.is_namespace(name)
        except ElacsymError:  # a name no namespace may have
            return False

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
        """`executemany`: an INSERT of plain parameters becomes one atomic write, made here
        like a transaction block's (decision 0090); any other statement runs once per row,
        each run an execute() of its own (forwarded to an owner as execute() would be)."""
        state = session if session is not None else self.session_state(cur)
        text, by_path = self._rewritten(sql, state)
        statements = split_statements(text)
        if len(statements) != 1:
            raise SyntaxError("executemany takes exactly one statement")
        sent = None if by_path else sql
        started = time.perf_counter()
        outcome = state.run(
            cur,
            statements[0],
            lambda stmt, on: self._execute_many(on, state.access.checked(stmt), rows, state, sent),
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
        that member (`sent`: the client's text), once this session may run it here."""
        stmt = state.access.checked(stmt)
        forwarded = self.forwarding.run(stmt, sent, params, state)
        if forwarded is not None:
            return forwarded
        with consistency.reads(state.settings.get(consistency.SETTING)):
            return self.router.execute_statement(cur, stmt, params, state.transaction)

    def _execute_many(
        self,
        cur: duckdb.DuckDBPyConnection,
        stmt: Statement,
        rows: Sequence[Sequence[Any]],
        state: SessionState,
        sent: str | None,
    ) -> Outcome:
        block = state.transaction
        if (
            isinstance(stmt.tree, exp.Insert)
            and rows
            and self.router.is_namespace(target_name(stmt.tree))
        ):
            plan = plan_insert_many(stmt.tree, rows)
            if plan is not None:
                return Outcome(
                    "count", "INSERT", self.router.write(cur, plan, block).table.num_rows
                )
        total = 0
        outcome = Outcome("none", "EMPTY")
        for row in rows:
            forwarded = self.forwarding.run(stmt, sent, row, state)
            outcome = forwarded or self.router.execute_statement(cur, stmt, row, block)
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
        return self.router.write(cur, plan, session.transaction).table.num_rows

    def _snapshot_of(self, name: str) -> Snapshot:
        return self.views.snapshot_of(name)

    def close(self) -> None:
        self.forwarding.close()
        self.engine.close()
        self._duck.close()
