"""asyncpg (binary protocol, prepared statements, its own type codecs) as an application uses
it, one test per behaviour issue 8 asks of it. Run against PostgreSQL 15 too with
ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import asyncio
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


def test_executemany_and_prepared_statement(target):
    async def check(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_items (id BIGINT PRIMARY KEY, label TEXT)")
        await conn.executemany("INSERT INTO ap_items VALUES ($1, $2)",
                               [(i, f"item {i}") for i in range(20)])  # fmt: skip
        stmt = await conn.prepare("SELECT label FROM ap_items WHERE id = $1")
        assert [await stmt.fetchval(i) for i in (3, 11)] == ["item 3", "item 11"]
        assert [a.name for a in stmt.get_attributes()] == ["label"]

    run(target, check)
