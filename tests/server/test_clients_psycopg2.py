"""psycopg2 in its default mode (every statement inside an implicit transaction the application
commits or rolls back), one test per behaviour issue 8 asks of it. Run against PostgreSQL 15
too with ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import decimal

import psycopg2
import psycopg2.errors
import psycopg2.extras
import pytest

from tests.server import clients

target = clients.target


@pytest.fixture
def conn(target):
    c = psycopg2.connect(target.dsn)
    try:
        yield c
    finally:
        c.close()


def test_implicit_transactions_commit_and_rollback(conn):
    cur = conn.cursor()
    cur.execute("CREATE TABLE p2_notes (id BIGINT PRIMARY KEY, body TEXT)")
    conn.commit()
    cur.execute("INSERT INTO p2_notes VALUES (%s, %s)", (1, "kept"))
    conn.commit()
    cur.execute("INSERT INTO p2_notes VALUES (%s, %s)", (2, "rolled back"))
    cur.execute("UPDATE p2_notes SET body = 'changed' WHERE id = 1")
    cur.execute("SELECT count(*) FROM p2_notes")  # the block sees its own writes
    assert cur.fetchone() == (2,)
    conn.rollback()
    with pytest.raises(psycopg2.errors.UndefinedTable):
        cur.execute("SELECT * FROM p2_missing")
    with pytest.raises(psycopg2.errors.InFailedSqlTransaction):  # 25P02 until rollback
        cur.execute("SELECT 1")
    conn.rollback()
    cur.execute("SELECT id, body FROM p2_notes ORDER BY id")
    assert cur.fetchall() == [(1, "kept")]
    conn.commit()


def test_serial_keys_returning_and_execute_values(conn):
    cur = conn.cursor()
    cur.execute("CREATE TABLE p2_users (id SERIAL PRIMARY KEY, name VARCHAR(50) NOT NULL, "
                "balance NUMERIC(12, 2) DEFAULT 0)")  # fmt: skip
    got = psycopg2.extras.execute_values(
        cur, "INSERT INTO p2_users (name) VALUES %s RETURNING id",
        [("ann",), ("bob",), ("cy",)], fetch=True,
    )  # fmt: skip
    assert [row[0] for row in got] == [1, 2, 3]
    cur.execute("UPDATE p2_users SET balance = balance + %s WHERE name = %s RETURNING balance",
                (decimal.Decimal("10.505"), "bob"))  # fmt: skip
    assert cur.fetchone() == (decimal.Decimal("10.51"),)
    conn.commit()
    with pytest.raises(psycopg2.errors.NotNullViolation):
        cur.execute("INSERT INTO p2_users (name) VALUES (NULL)")
    conn.rollback()


def test_named_cursor_fetches_in_batches(conn):
    cur = conn.cursor()
    cur.execute("CREATE TABLE p2_big (id BIGINT PRIMARY KEY, v TEXT)")
    psycopg2.extras.execute_values(cur, "INSERT INTO p2_big VALUES %s",
                                   [(i, str(i)) for i in range(300)])  # fmt: skip
    conn.commit()
    with conn.cursor(name="p2_stream") as named:
        named.itersize = 64
        named.execute("SELECT id, v FROM p2_big ORDER BY id")
        assert named.fetchmany(5) == [(i, str(i)) for i in range(5)]
        assert sum(1 for _ in named) == 295
    conn.commit()


def test_result_names_with_dict_cursor(conn):
    cur = conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
    cur.execute("SELECT count(*), max(x), current_database() FROM (VALUES (1), (5)) AS t(x)")
    assert cur.fetchone() == {"count": 2, "max": 5, "current_database": conn.info.dbname}
    conn.rollback()
