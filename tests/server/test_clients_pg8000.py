"""pg8000 (pure Python: the DB-API module with implicit transactions, and the native API), one
test per behaviour issue 8 asks of it. Run against PostgreSQL 15 too with
ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import pg8000.dbapi

from tests.server import clients

target = clients.target


def test_dbapi_commit_and_rollback(target):
    conn = pg8000.dbapi.connect(target.user, host=target.host, port=target.port,
                                database=target.dbname, password=target.password)  # fmt: skip
    try:
        cur = conn.cursor()
        cur.execute("CREATE TABLE p8_ledger (id BIGINT PRIMARY KEY, amount BIGINT)")
        cur.execute("INSERT INTO p8_ledger VALUES (%s, %s)", (1, 100))
        conn.commit()
        cur.execute("INSERT INTO p8_ledger VALUES (%s, %s)", (2, 200))
        conn.rollback()
        cur.execute("SELECT id, amount FROM p8_ledger")
        assert [tuple(row) for row in cur.fetchall()] == [(1, 100)]
        conn.commit()
    finally:
        conn.close()
