"""Small helpers shared by engine and SQL tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import elacsym_sql
from elacsym_sql.config import Settings
from elacsym_sql.sql import Connection

DOCS = (
    "CREATE TABLE docs (id BIGINT PRIMARY KEY, title TEXT, body TEXT, tags TEXT[], "
    "price DOUBLE, embedding FLOAT[4]) WITH (metric = 'cosine', full_text = 'title, body')"
)


def open_connection(settings: Settings) -> Connection:
    return elacsym_sql.Connection(elacsym_sql.Database(settings))


@contextmanager
def connection(make_settings: Callable[..., Settings], **overrides: object) -> Iterator[Connection]:
    con = open_connection(make_settings(**overrides))
    try:
        yield con
    finally:
        con.close()


def rows(con: Connection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params).fetchall()


def fold(con: Connection, name: str = "docs") -> bool:
    return con.database.engine.fold(name)


def compact(con: Connection, name: str = "docs") -> bool:
    return con.database.engine.compact(name, force=True)
