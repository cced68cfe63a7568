"""pg8000 (pure Python: the DB-API module with implicit transactions, and the native API), one
test per behaviour issue 8 asks of it. Run against PostgreSQL 15 too with
ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import datetime as dt
import decimal

import pg8000.dbapi
import pg8000.native
import pytest

from tests.server import clients

target = clients.target


def connect_native(target: clients.Target) -> pg8000.native.Connection:
    return pg8000.native.Connection(target.user, host=target.host, port=target.port,
                                    database=target.dbname, password=target.password)  # fmt: skip


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


def test_native_serial_names_and_types(target):
    conn = connect_native(target)
    try:
        conn.run("CREATE TABLE p8_orders (id SERIAL PRIMARY KEY, total NUMERIC(9, 2), "
                 "placed TIMESTAMPTZ, note TEXT)")  # fmt: skip
        placed = dt.datetime(2024, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
        got = conn.run("INSERT INTO p8_orders (total, placed, note) VALUES (:t, :p, :n) "
                       "RETURNING id", t=decimal.Decimal("19.99"), p=placed, n="first")  # fmt: skip
        assert got == [[1]]
        rows = conn.run("SELECT id, total, placed, note FROM p8_orders")
        assert rows == [[1, decimal.Decimal("19.99"), placed, "first"]]
        conn.run("SELECT count(*), max(total) FROM p8_orders")
        assert [c["name"] for c in conn.columns] == ["count", "max"]
        again = "INSERT INTO p8_orders (id, total) VALUES (1, 1)"
        if target.kind == "pg15":
            with pytest.raises(pg8000.native.DatabaseError) as raised:
                conn.run(again)
            assert raised.value.args[0]["C"] == "23505"
        else:  # INSERT upserts by primary key, the whole row (DESIGN.md §2, decision 0034)
            conn.run(again)
            assert conn.run("SELECT id, total, note FROM p8_orders") == [
                [1, decimal.Decimal("1.00"), None]
            ]
    finally:
        conn.close()
