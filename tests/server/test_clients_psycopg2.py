"""psycopg2 in its default mode (every statement inside an implicit transaction the application
commits or rolls back), one test per behaviour issue 8 asks of it. Run against PostgreSQL 15
too with ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

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
