"""asyncpg, SQLAlchemy and pandas against the server."""

from __future__ import annotations

import asyncio

import asyncpg
import pandas as pd
import sqlalchemy as sa


def test_asyncpg_parameters_and_portal_row_limits(wire):
    port = wire[0]

    async def run() -> None:
        conn = await asyncpg.connect(host="127.0.0.1", port=port, user="t", database="e")
        try:
            rows = await conn.fetch(
                "SELECT id, title FROM docs WHERE id = $1 OR price > $2", 1, 10.0
            )
            assert sorted(r["id"] for r in rows) == [1, 3]
            assert await conn.fetchval("SELECT $1::int + 1", 41) == 42
            assert await conn.fetchval("SELECT $1::text", "2024-01-01") == "2024-01-01"
            async with conn.transaction():  # a cursor: Execute with a row limit
                got = [r[0] async for r in conn.cursor("SELECT * FROM range(7)", prefetch=3)]
            assert got == list(range(7))
        finally:
            await conn.close()

    asyncio.run(run())


def test_sqlalchemy_core_and_pandas(wire):
    engine = sa.create_engine(f"postgresql+psycopg://t@127.0.0.1:{wire[0]}/e")
    try:
        with engine.connect() as conn:
            docs = sa.table("docs", sa.column("id"), sa.column("title"), sa.column("price"))
            rows = conn.execute(sa.select(docs.c.id, docs.c.title).where(docs.c.id == 2)).all()
            assert rows == [(2, "the beginning of search")]
            frame = pd.read_sql("SELECT id, price FROM docs ORDER BY id", conn)
            assert list(frame["id"]) == [1, 2, 3]
            assert frame["price"].isna().tolist() == [False, True, False]
    finally:
        engine.dispose()
