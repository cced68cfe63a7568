"""CREATE VIEW / DROP VIEW of ordinary (not TEMP) views: durable in the root's catalog and
shown to every process (decision 0091).

DuckDB makes the view (checking its query), and the statement it keeps for it is stored as
`.views/<name>` (catalog/views.py). Every process keeps DuckDB's main schema in line with
the store as a strong read would: a statement that names a view reads its object first
(one GET each; with `elacsym.consistency = 'eventual'` the copy this process has), so a
view made, replaced or dropped anywhere is seen by the next statement; a catalog read lists
them all. The tables a view reads (through other views too) are refreshed with the
statement's own, so a view shows other processes' writes as its tables do.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterable

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from ...engine import ViewStore
from ...errors import DuplicateTable, UndefinedTable, WrongObjectType
from ..parse import DIALECT, referenced_tables, table_name
from ..views import quote

log = logging.getLogger(__name__)

_CREATE_VIEW = re.compile(r"^\s*CREATE\s+VIEW\b", re.IGNORECASE)


def is_view_ddl(tree: exp.Expression | None, verb: type[exp.Expression]) -> bool:
    """Whether `tree` is a CREATE (`verb` exp.Create) or DROP (exp.Drop) of a view, not of a
    temporary one."""
    if not isinstance(tree, verb) or str(tree.args.get("kind") or "").upper() != "VIEW":
        return False
    props = tree.args.get("properties")
    return props is None or not any(isinstance(p, exp.TemporaryProperty) for p in props.expressions)


def dropped_views(tree: exp.Drop) -> list[str | None]:
    return [table_name(t) for t in tree.args.get("tables") or []]


class StoredViews:
    def __init__(
        self,
        stored: ViewStore,
        duck: duckdb.DuckDBPyConnection,
        is_namespace: Callable[[str], bool],
        shown_namespace: Callable[[str], bool],
        refresh_tables: Callable[[set[str], bool], None],
    ) -> None:
        self._stored = stored
        self._duck = duck.cursor()  # a private connection: applying is serialised by _lock
        self._is_namespace = is_namespace  # a strong read
        self._shown_namespace = shown_namespace  # as last read: no request
        self._refresh_tables = refresh_tables  # namespaces' views, (names, eventual)
        self._lock = threading.RLock()
        self._applied: dict[str, str] = {}  # view name -> the statement DuckDB made it with
        self._reads: dict[str, set[str]] = {}  # view name -> the tables its query names

    def known(self, name: str) -> bool:
        """Whether `name` is a view as this process last read it (no request)."""
        return name in self._applied

    def exists(self, name: str) -> bool:
        """Whether `name` is a stored view (a strong read)."""
        self.sync([name])
        return name in self._applied

    def sync(
        self,
        names: Iterable[str],
        eventual: bool = False,
        fresh: frozenset[str] = frozenset(),
        tolerant: bool = False,
    ) -> set[str]:
        """Make DuckDB show each of `names` that is a stored view as stored (and drop those
        no longer stored); returns the other tables those views read, through views they
        read, brought up to date first (but those in `fresh`), since DuckDB binds a view's
        query when it makes it. `tolerant`: a view DuckDB cannot make (a table it reads was
        dropped) is left out and logged, not an error."""
        found: dict[str, str | None] = {}
        order: list[str] = []  # views after the views they read
        tables: set[str] = set()

        def visit(name: str) -> None:
            if name in found or name.startswith("pg_") or self._shown_namespace(name):
                return  # the catalog's relations are never views of ours
            cached = self._applied.get(name)
            sql = cached if eventual and cached is not None else self._stored.get(name)
            found[name] = sql
            if sql is None:
                return
            for read in self._reads[name] if sql == cached else _reads(name, sql):
                visit(read)
                if found.get(read) is None:
                    tables.add(read)
            order.append(name)

        for name in names:
            visit(name)
        self._refresh_tables(tables - fresh, eventual)
        with self._lock:
            for name, sql in found.items():
                if sql is None and name in self._applied:
                    self._forget(name)
            for name in order:
                try:
                    self._apply(name, found[name])  # type: ignore[arg-type]
                except duckdb.Error as exc:
                    if not tolerant:
                        raise
                    log.warning("view %s cannot be shown: %s", name, exc)
        return tables

    def sync_all(self, fresh: frozenset[str]) -> None:
        """For a catalog read: every stored view (one LIST, one GET each); `fresh`: the
        tables the read refreshed already."""
        listed = self._stored.names()
        with self._lock:
            for name in set(self._applied) - listed:
                self._forget(name)
        self.sync(sorted(listed), fresh=fresh, tolerant=True)

    def create(
        self, cur: duckdb.DuckDBPyConnection, name: str, replace: bool, run: Callable[[], object]
    ) -> None:
        """CREATE [OR REPLACE] VIEW `name`: `run` makes it in DuckDB, then it is stored."""
        if self._is_namespace(name):
            raise DuplicateTable(f'relation "{name}" already exists')
        with self._lock:
            self.sync([name])  # DuckDB as stored
            if name in self._applied and not replace:
                raise DuplicateTable(f'relation "{name}" already exists')
            run()
            row = cur.execute(
                "SELECT sql FROM duckdb_views() WHERE schema_name = 'main' AND NOT temporary "
                "AND view_name = ?",
                [name],
            ).fetchone()
            assert row is not None, f"DuckDB made no view {name}"
            reads = _reads(name, row[0])
            if reads & _temporary_tables(cur):
                return  # Postgres makes a view of a temporary table temporary: not stored
            if not self._stored.create(name, row[0], replace):  # another process won
                self._forget(name)
                raise DuplicateTable(f'relation "{name}" already exists')
            self._applied[name], self._reads[name] = row[0], reads

    def drop(self, names: list[str | None], if_exists: bool) -> None:
        """DROP VIEW [IF EXISTS] a, b: each a stored view, or 42P01 (42809 for a table)."""
        with self._lock:
            present = [n for n in names if n is not None]
            self.sync(present)
            for name in names:
                if name is not None and name in self._applied:
                    continue
                if name is not None and self._is_namespace(name):
                    raise WrongObjectType(
                        f'"{name}" is not a view', hint="Use DROP TABLE to remove a table."
                    )
                if not if_exists:
                    raise UndefinedTable(f'view "{name}" does not exist')
            for name in present:
                if name in self._applied:
                    self._stored.drop(name)
                    self._forget(name)

    def _apply(self, name: str, sql: str) -> None:
        if self._applied.get(name) == sql:
            return
        self._duck.execute(_CREATE_VIEW.sub("CREATE OR REPLACE VIEW", sql, count=1))
        self._applied[name], self._reads[name] = sql, _reads(name, sql)

    def _forget(self, name: str) -> None:
        with contextlib.suppress(duckdb.Error):
            self._duck.execute(f"DROP VIEW IF EXISTS main.{quote(name)}")
        self._applied.pop(name, None)
        self._reads.pop(name, None)


def _reads(name: str, sql: str) -> set[str]:
    """The tables (and views) the query of view `name` names."""
    try:
        tree = sqlglot.parse_one(sql, read=DIALECT)
    except (ParseError, TokenError):
        return set()
    return referenced_tables(tree) - {name}


def _temporary_tables(cur: duckdb.DuckDBPyConnection) -> set[str]:
    """The session's temporary tables (DuckDB's temp catalog is per connection)."""
    rows = cur.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    return {r[0] for r in rows}
