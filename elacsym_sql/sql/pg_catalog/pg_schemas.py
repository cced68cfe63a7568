"""Postgres schemas other than public (decision 0033): durable, and each table in one is a
namespace of its own, named `<schema>.<table>`.

CREATE SCHEMA writes `.schemas/<name>` by conditional create (42P06 when it exists) and makes
the DuckDB schema of that name (for DuckDB's own objects); every process lists the objects
(again at most every few seconds). References `s.t` to a table of such a schema are
rewritten to the one identifier `"s.t"` before anything parses the statement, so the
namespace's DuckDB view (in main, like every namespace's) answers, transaction blocks show
their snapshot of it as of any namespace, and writes, constraints and searches need nothing
else. DROP SCHEMA refuses a schema that still has tables (2BP01; CASCADE is not supported).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import duckdb
import sqlglot
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from ...engine import SchemaStore
from ...errors import (
    DependentObjectsStillExist,
    DuplicateSchema,
    InvalidSchemaName,
    NotSupportedError,
    ReservedName,
)
from ...schema import check_name
from ..dialect.pg_rewrite import SHIM
from ..statements.indexes import NAME, ident
from ..views import quote

BUILT_IN = frozenset({"public", "main", "pg_catalog", "information_schema", "temp", "system"})
REFRESH_SECONDS = 5.0

_CREATE = re.compile(
    rf"\s*CREATE\s+SCHEMA\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?(?P<name>{NAME})\s*;?\s*$",
    re.IGNORECASE,
)
_DROP = re.compile(
    rf"\s*DROP\s+SCHEMA\s+(?P<exists>IF\s+EXISTS\s+)?(?P<names>{NAME}(?:\s*,\s*{NAME})*)"
    r"\s*(?P<behavior>CASCADE|RESTRICT)?\s*;?\s*$",
    re.IGNORECASE,
)


def split_name(name: str, schemas: frozenset[str]) -> tuple[str, str]:
    """(Postgres schema, table) of a namespace name."""
    head, dot, rest = name.partition(".")
    return (head, rest) if dot and head in schemas else ("public", name)


class PgSchemas:
    def __init__(
        self,
        stored: SchemaStore,
        duck: duckdb.DuckDBPyConnection,
        tables: Callable[[], list[str]],
        views: Callable[[], set[str]],
    ) -> None:
        self._stored = stored
        self._duck = duck.cursor()
        self._tables = tables  # every namespace name
        self._views = views  # every stored view's name (decision 0091)
        self._lock = threading.Lock()
        self._names: frozenset[str] = frozenset()
        self._read_at = -REFRESH_SECONDS

    def names(self, fresh: bool = False) -> frozenset[str]:
        """The schemas CREATE SCHEMA made (any process), re-listed every few seconds."""
        with self._lock:
            if fresh or time.monotonic() - self._read_at >= REFRESH_SECONDS:
                listed = self._stored.names()
                self._read_at = time.monotonic()
                if listed != self._names:
                    self._install(frozenset(listed))
            return self._names

    def _install(self, names: frozenset[str]) -> None:
        """DuckDB's schemas and the catalog's list (pg_namespaces.py) follow the stored ones."""
        for name in names - self._names:
            self._duck.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(name)}")
        self._duck.execute(f"DELETE FROM {SHIM}.user_schemas")
        if names:
            self._duck.executemany(
                f"INSERT INTO {SHIM}.user_schemas VALUES (?)", [[n] for n in sorted(names)]
            )
        self._names = names

    def run(self, text: str) -> str | None:
        """The tag of CREATE SCHEMA / DROP SCHEMA, or None for other statements."""
        found = _CREATE.match(text)
        if found is not None:
            self._create(ident(found.group("name")), bool(found.group("exists")))
            return "CREATE SCHEMA"
        found = _DROP.match(text)
        if found is not None:
            names = [ident(n) for n in found.group("names").split(",")]
            cascade = (found.group("behavior") or "").upper() == "CASCADE"
            self._drop(names, bool(found.group("exists")), cascade)
            return "DROP SCHEMA"
        return None

    def _create(self, name: str, if_not_exists: bool) -> None:
        check_name(name, "schema")
        if name in BUILT_IN:
            if if_not_exists:
                return
            raise DuplicateSchema(f'schema "{name}" already exists')
        if name.startswith("pg_"):
            raise ReservedName(
                f'unacceptable schema name "{name}"',
                detail='The prefix "pg_" is reserved for system schemas.',
            )
        if not self._stored.create(name) and not if_not_exists:
            raise DuplicateSchema(f'schema "{name}" already exists')
        self.names(fresh=True)

    def _drop(self, names: list[str], if_exists: bool, cascade: bool) -> None:
        known = self.names(fresh=True)
        present = [n for n in names if n in known]
        missing = [n for n in names if n not in known]
        if missing and not if_exists:
            raise InvalidSchemaName(f'schema "{missing[0]}" does not exist')
        relations = [("table", t) for t in self._tables()]
        relations += [("view", v) for v in sorted(self._views())]
        for name in present:
            inside = [(k, r) for k, r in relations if split_name(r, known)[0] == name]
            if inside and cascade:
                raise NotSupportedError("DROP SCHEMA ... CASCADE of a schema with tables")
            if inside:
                kind, relation = inside[0]
                raise DependentObjectsStillExist(
                    f"cannot drop schema {name} because other objects depend on it",
                    detail=f"{kind} {relation} depends on schema {name}",
                    hint="Use DROP ... CASCADE to drop the dependent objects too.",
                )
        for name in present:
            self._stored.drop(name)
            self._duck.execute(f"DROP SCHEMA IF EXISTS {quote(name)} CASCADE")
        self.names(fresh=True)


def qualify(sql: str, schemas: frozenset[str]) -> str:
    """`sql` with each `s.t` (either part quoted or not) naming a table of a user schema `s`
    written as the namespace's one identifier `"s.t"` (a user schema holds no functions)."""
    if not schemas or "." not in sql:
        return sql
    try:
        tokens = sqlglot.tokenize(sql, read="duckdb")
    except TokenError:
        return sql
    names = (TokenType.VAR, TokenType.IDENTIFIER)
    edits: list[tuple[int, int, str]] = []
    i = 0
    while i + 2 < len(tokens):
        first, dot, second = tokens[i], tokens[i + 1], tokens[i + 2]
        after_dot = i > 0 and tokens[i - 1].token_type == TokenType.DOT
        if (
            first.token_type in names
            and dot.token_type == TokenType.DOT
            and second.token_type in names
            and not after_dot
        ):
            schema = _folded(first)
            if schema in schemas:
                edits.append((first.start, second.end + 1, quote(f"{schema}.{_folded(second)}")))
                i += 3
                continue
        i += 1
    out, last = [], 0
    for start, end, text in edits:
        out += [sql[last:start], text]
        last = end
    return "".join(out) + sql[last:]


def _folded(token: sqlglot.tokens.Token) -> str:
    return token.text if token.token_type == TokenType.IDENTIFIER else token.text.lower()
