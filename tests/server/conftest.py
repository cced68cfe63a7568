"""A wire server on a free port over a local data directory, shared by a test module.

`wire` yields (port, embedded connection on the same Database); `dsn` is a libpq DSN.
The module's data: namespace `docs` with 3 rows (vectors, text, NULLs).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import elacsym_sql
from elacsym_sql.server import BackgroundServer

DOCS = [
    (1, "object storage engines", 1.5, [1.0, 0.0, 0.0]),
    (2, "the beginning of search", None, [0.0, 1.0, 0.0]),
    (3, "hybrid storage and search", 20.0, [0.7, 0.7, 0.0]),
]


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, elacsym_sql.Connection]]:
    root = tmp_path_factory.mktemp("wire")
    con = elacsym_sql.connect(str(root / "data"), cache_dir=str(root / "cache"), indexer=False)
    con.execute(
        "CREATE TABLE docs (id BIGINT PRIMARY KEY, title TEXT, price DOUBLE, embedding FLOAT[3])"
        " WITH (metric = 'cosine', full_text = 'title')"
    )
    con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", DOCS)
    server = BackgroundServer(con.database).start()
    try:
        yield server.port, con
    finally:
        server.stop()
        con.close()


@pytest.fixture(scope="module")
def dsn(wire: tuple[int, elacsym_sql.Connection]) -> str:
    return f"host=127.0.0.1 port={wire[0]} user=tester dbname=elacsym"


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The test fails if anything logs an error or a traceback: a client's mistake is
    answered, never logged as the server's."""
    caplog.set_level(logging.WARNING)
    yield
    logged = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not logged, [r.getMessage() for r in logged]
