"""psycopg 3 as an application uses it: `conn.transaction()` blocks with errors inside.
Run against PostgreSQL 15 too with ELACSYM_CLIENT_TESTS_PG=1."""

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
