"""psycopg 3 as an application uses it, one test per behaviour issue 8 asks of it. Run against
PostgreSQL 15 too with ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from tests.server import clients

target = clients.target


@pytest.fixture
def conn(target):
    with psycopg.connect(target.dsn, autocommit=True) as c:
        yield c


def test_transaction_block_with_an_error_inside_rolls_back_and_the_connection_goes_on(conn):
    conn.execute("CREATE TABLE tx_items (id BIGINT PRIMARY KEY, name TEXT)")
    with pytest.raises(RuntimeError), conn.transaction():
        conn.execute("INSERT INTO tx_items VALUES (1, 'discarded')")
        raise RuntimeError("application error")
    with pytest.raises(errors.UndefinedColumn), conn.transaction():
        conn.execute("INSERT INTO tx_items VALUES (2, 'first')")
        conn.execute("UPDATE tx_items SET no_such_column = 1")
    with conn.transaction():
        conn.execute("INSERT INTO tx_items VALUES (3, 'kept')")
        with pytest.raises(errors.UndefinedTable), conn.transaction():  # a savepoint
            conn.execute("INSERT INTO tx_items VALUES (4, 'inner')")
            conn.execute("SELECT * FROM no_such_table")
        conn.execute("INSERT INTO tx_items VALUES (5, 'after the savepoint')")
    rows = conn.execute("SELECT id, name FROM tx_items ORDER BY id").fetchall()
    assert rows == [(3, "kept"), (5, "after the savepoint")]


def test_concurrent_writers_of_one_key_first_committer_wins(target):
    with psycopg.connect(target.dsn, autocommit=True) as setup:
        setup.execute("CREATE TABLE counters (id BIGINT PRIMARY KEY, n INTEGER)")
        setup.execute("INSERT INTO counters VALUES (1, 0)")
    first = psycopg.connect(target.dsn)
    second = psycopg.connect(target.dsn)
    with first, second:
        for c in (first, second):
            c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            assert c.execute("SELECT n FROM counters WHERE id = 1").fetchone() == (0,)
        first.execute("UPDATE counters SET n = n + 1 WHERE id = 1")
        first.commit()
        with pytest.raises(errors.SerializationFailure):  # 40001, at the write or the commit
            second.execute("UPDATE counters SET n = n + 1 WHERE id = 1")
            second.commit()
        second.rollback()
        assert second.execute("SELECT n FROM counters").fetchone() == (1,)
