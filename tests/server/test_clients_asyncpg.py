"""asyncpg (binary protocol, prepared statements, its own type codecs) as an application uses
it, one test per behaviour issue 8 asks of it. Run against PostgreSQL 15 too with
ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from tests.server import clients

target = clients.target


def run(target: clients.Target, check: Callable[[asyncpg.Connection], Awaitable[Any]]) -> None:
    async def main() -> None:
        conn = await asyncpg.connect(host=target.host, port=target.port, user=target.user,
                                     password=target.password, database=target.dbname)  # fmt: skip
        try:
            await check(conn)
        finally:
            await conn.close()

    asyncio.run(main())


def test_transaction_with_an_error_inside_rolls_back(target):
    async def check(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_events (id BIGINT PRIMARY KEY, kind TEXT)")
        with pytest.raises(asyncpg.exceptions.UndefinedColumnError):
            async with conn.transaction():
                await conn.execute("INSERT INTO ap_events VALUES ($1, $2)", 1, "lost")
                await conn.execute("UPDATE ap_events SET nope = 1")
        async with conn.transaction():
            await conn.execute("INSERT INTO ap_events VALUES ($1, $2)", 2, "kept")
        assert await conn.fetch("SELECT id, kind FROM ap_events") == [(2, "kept")]

    run(target, check)


def test_serial_returning_and_record_names(target):
    async def check(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_people (id SERIAL PRIMARY KEY, name TEXT NOT NULL,"
                           " age INTEGER CHECK (age >= 0))")  # fmt: skip
        ids = [await conn.fetchval("INSERT INTO ap_people (name, age) VALUES ($1, $2) "
                                   "RETURNING id", name, age)
               for name, age in (("ann", 30), ("bob", 40))]  # fmt: skip
        assert ids == [1, 2]
        row = await conn.fetchrow("SELECT count(*), sum(age), avg(age) FROM ap_people")
        assert (row["count"], row["sum"], row["avg"]) == (2, 70, decimal.Decimal(35))
        with pytest.raises(asyncpg.exceptions.CheckViolationError):
            await conn.execute("INSERT INTO ap_people (name, age) VALUES ('x', -1)")
        with pytest.raises(asyncpg.exceptions.NotNullViolationError):
            await conn.execute("INSERT INTO ap_people (age) VALUES (1)")

    run(target, check)


def test_types_through_the_binary_codecs(target):
    at = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

    async def check(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_typed (id BIGINT PRIMARY KEY, amount NUMERIC(8, 3),"
                           " small SMALLINT, at TIMESTAMPTZ, span INTERVAL, blob BYTEA, "
                           "doc JSONB, scores REAL[])")  # fmt: skip
        await conn.execute("INSERT INTO ap_typed VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                           1, decimal.Decimal("3.142"), 7, at, dt.timedelta(minutes=90),
                           b"\x01\x02", '{"k": true}', [0.5, 1.5])  # fmt: skip
        row = await conn.fetchrow("SELECT * FROM ap_typed")
        assert dict(row) == {"id": 1, "amount": decimal.Decimal("3.142"), "small": 7, "at": at,
                             "span": dt.timedelta(minutes=90), "blob": b"\x01\x02",
                             "doc": '{"k": true}', "scores": [0.5, 1.5]}  # fmt: skip
        assert await conn.fetchval("SELECT 7 / 2") == 3
        with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
            await conn.fetchval("SELECT $1::int / 0", 1)

    run(target, check)


def test_executemany_and_prepared_statement(target):
    async def check(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_items (id BIGINT PRIMARY KEY, label TEXT)")
        await conn.executemany("INSERT INTO ap_items VALUES ($1, $2)",
                               [(i, f"item {i}") for i in range(20)])  # fmt: skip
        stmt = await conn.prepare("SELECT label FROM ap_items WHERE id = $1")
        assert [await stmt.fetchval(i) for i in (3, 11)] == ["item 3", "item 11"]
        assert [a.name for a in stmt.get_attributes()] == ["label"]

    run(target, check)


def test_prepared_writes_describe_their_returning_columns(target):
    async def check(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_stock (id BIGINT PRIMARY KEY, name TEXT, qty INTEGER)")
        insert = await conn.prepare(
            "INSERT INTO ap_stock AS s VALUES ($1, $2, $3) "
            "RETURNING id, qty * 2, qty AS q, upper(s.name), *"
        )
        described = [(a.name, a.type.name) for a in insert.get_attributes()]
        assert described == [("id", "int8"), ("?column?", "int4"), ("q", "int4"),
                             ("upper", "text"), ("id", "int8"), ("name", "text"),
                             ("qty", "int4")]  # fmt: skip
        assert await conn.fetchval("SELECT count(*) FROM ap_stock") == 0  # described, not run
        assert tuple(await insert.fetchrow(1, "a", 2)) == (1, 4, 2, "A", 1, "a", 2)
        update = await conn.prepare("UPDATE ap_stock SET qty = $1 WHERE id = $2 RETURNING qty")
        assert [a.name for a in update.get_attributes()] == ["qty"]
        assert await update.fetchval(5, 1) == 5
        # $1 typed by the other operand, as Postgres types it (DuckDB leaves it open)
        add = await conn.prepare("UPDATE ap_stock SET qty = qty + $1 WHERE id = $2 RETURNING qty")
        assert await add.fetchval(3, 1) == 8
        scaled = await conn.fetch("SELECT id, qty * $1 AS q FROM ap_stock WHERE qty > $2", 2, 1)
        assert [tuple(r) for r in scaled] == [(1, 16)]
        delete = await conn.prepare("DELETE FROM ap_stock WHERE id = $1 RETURNING name")
        assert await delete.fetch(1) == [("a",)]
        plain = await conn.prepare("DELETE FROM ap_stock WHERE id = $1")
        assert plain.get_attributes() == ()

    run(target, check)


def test_jsonb_and_arrays_keep_their_types(target):
    async def check(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_docs (id BIGINT PRIMARY KEY, body JSONB, "
                           "raw JSON, scores REAL[])")  # fmt: skip
        await conn.execute("""INSERT INTO ap_docs VALUES (1, '{"b": 1, "a": [1, 2]}', """
                           """'{"b": 1}', '{0.5,1.5}')""")  # fmt: skip
        query = await conn.prepare("SELECT id, body, raw, scores FROM ap_docs")
        types = [a.type.name for a in query.get_attributes()]
        assert types == ["int8", "jsonb", "json", "float4[]"]
        row = await query.fetchrow()  # asyncpg reads jsonb in the binary format
        assert (row["body"], row["raw"], row["scores"]) == ('{"a": [1, 2], "b": 1}',
                                                           '{"b": 1}', [0.5, 1.5])  # fmt: skip
        returned = await conn.fetchrow("INSERT INTO ap_docs (id, body) VALUES (2, '[]') "
                                       "RETURNING body")  # fmt: skip
        assert returned["body"] == "[]"

    run(target, check)
