"""statement_timeout stops the engine's own Python work, not only DuckDB's: a direct
vector search runs entirely in the engine (no DuckDB call to interrupt) and checks the
statement's clock between segments (elacsym_sql/interrupts.py). Before, it ran to the end
and answered rows past its deadline.

No wall clock is asserted: the deadline is 1 ms and the search visits 30 segments, so some
check between them comes after it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import psycopg
import pytest

import elacsym_sql
from elacsym_sql.server import BackgroundServer

SEGMENTS = 30
SEARCH = (
    "SELECT id FROM vector_search('v', [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]::FLOAT[8], 10, "
    "exact := true)"
)


def clear_timeout(conn: psycopg.Connection) -> None:
    """SET statement_timeout = 0, again until it gets through its own 1 ms deadline."""
    while True:
        try:
            conn.execute("SET statement_timeout = 0")
            return
        except psycopg.errors.QueryCanceled:
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                conn.rollback()


@pytest.fixture(scope="module")
def dsn() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as root:
        con = elacsym_sql.connect(f"{root}/data", cache_dir=f"{root}/cache", indexer=False)
        con.execute("CREATE TABLE v (id BIGINT PRIMARY KEY, e FLOAT[8]) WITH (metric = 'l2')")
        for s in range(SEGMENTS):
            con.execute(
                f"INSERT INTO v SELECT {s} * 1000 + i, [random() for x in range(8)]::FLOAT[8] "
                "FROM range(1000) t(i)"
            )
            assert con.database.engine.fold("v")
        try:
            with BackgroundServer(con.database) as server:
                yield f"host=127.0.0.1 port={server.port} user=tester dbname=e"
        finally:
            con.close()


def test_a_search_in_the_engine_is_stopped_by_statement_timeout(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert len(conn.execute(SEARCH).fetchall()) == 10  # loads every segment once
        conn.execute("SET statement_timeout = 1")
        for _ in range(3):  # each time: from the first segment load and from the cache
            with pytest.raises(psycopg.errors.QueryCanceled) as err:
                conn.execute(SEARCH)
            assert "statement timeout" in str(err.value)
        clear_timeout(conn)
        assert len(conn.execute(SEARCH).fetchall()) == 10  # the session goes on
        assert conn.execute("SELECT 1").fetchall() == [(1,)]
