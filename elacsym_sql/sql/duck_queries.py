"""Statements DuckDB runs itself (queries, and whatever is not a namespace's statement):
over up-to-date views of the namespaces they read, streamed for server sessions, their
outcome named and typed as Postgres gives it."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import duckdb
from sqlglot import exp

from ..engine import Engine
from ..schema import Schema
from .column_names import pg_names, source_columns
from .command_tags import command_tag, returns_rows
from .declared_types import declared_types, may_declare
from .dialect.pg_literals import rewrite_literal_casts
from .dialect.pg_rewrite import reads_catalog
from .duckdb_stream import Stream
from .parse import Statement, referenced_tables
from .pg_catalog.pg_sequences import PgSequences
from .results import DuckResult, Outcome, StreamResult
from .search.search_calls import rewrite_search_calls
from .session import consistency
from .session.transactions import TransactionBlock
from .statements.stored_views import StoredViews
from .views import ViewCatalog

STREAM_BATCH_ROWS = 8192  # rows per Arrow batch of a streamed result (decision 0023)


class DuckQueries:
    def __init__(
        self,
        engine: Engine,
        views: ViewCatalog,
        pg_sequences: PgSequences,
        catalog_fresh: Callable[[], None],
        stored_views: StoredViews,
    ) -> None:
        self._engine = engine
        self._views = views
        self._stored_views = stored_views  # CREATE VIEW's views (decision 0091)
        self._pg_sequences = pg_sequences  # listed again when a statement reads the catalog
        self._catalog_fresh = catalog_fresh  # brings the catalog snapshot up to date
        # Cursors of server sessions: their queries' rows stream (never held whole).
        self.streaming: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()

    def run(
        self,
        cur: duckdb.DuckDBPyConnection,
        stmt: Statement,
        params: Sequence[Any],
        block: TransactionBlock,
    ) -> Outcome:
        """Run `stmt` in DuckDB; its outcome as Postgres reports it."""
        result, names = self._query(cur, stmt, params, block)
        return self.declared(_duckdb_outcome(cur, stmt, result), names, stmt.text)

    def tables_read(self, stmt: Statement, text: str) -> set[str]:
        """Namespaces a statement reads: those it names, or all of them for a catalog read."""
        names = referenced_tables(stmt.tree) if stmt.tree is not None else set(self._views.known)
        if reads_catalog(text):
            names |= set(self._engine.list_namespaces()) | set(self._views.known)
            self._pg_sequences.refresh()
        return names

    def declared_schemas(self, names: Iterable[str]) -> list[Schema]:
        """The schemas of those of `names` that are namespaces whose views are shown (a
        statement that read them refreshed them)."""
        return [self._views.snapshot_of(n).schema for n in names if self._views.shows(n)]

    def declared(self, outcome: Outcome, names: Iterable[str], text: str) -> Outcome:
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
            self._views.refresh_one(name, eventual)  # an unknown namespace is an error here

        if reads_catalog(text):  # every namespace (tables_read), then every view
            self._views.refresh(names - searched, eventual)
            self._stored_views.sync_all(frozenset(names))
        else:  # the views it names and the tables they read, then its other tables
            under = self._stored_views.sync(names - searched, eventual, frozenset(searched))
            others = names - searched - under
            self._views.refresh({n for n in others if not self._stored_views.known(n)}, eventual)
            names |= under
        self._views.settle(names)
        if reads_catalog(text):
            self._catalog_fresh()
        if block.active is not None:
            block.show(cur, names)
        # Only queries stream: DuckDB's stream format fails other statements after they ran.
        stream = cur in self.streaming and isinstance(stmt.tree, exp.Query)

        def run() -> DuckResult | StreamResult:
            cur.abort()
            if stream:
                return StreamResult(Stream(cur, text, params, STREAM_BATCH_ROWS))
            cur.execute(text, params or None)
            return DuckResult(cur)

        try:
            return run(), names
        except duckdb.IOException:
            # A segment file left the disk cache under a view: fetch again, run once more.
            self._views.forget(names)
            self._views.refresh(names)
            return run(), names


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
