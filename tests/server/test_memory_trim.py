"""The server gives memory back as sessions close (server/memory.py, decision 0048): a trim
frees reference cycles (closed sessions are), and a burst of closes ends in a trim."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

import psycopg

from elacsym_sql.server import memory
from elacsym_sql.server.memory import TrimSchedule


def test_a_burst_of_closes_trims_at_once_and_once_after_the_last():
    async def burst() -> tuple[list[float], float]:
        loop = asyncio.get_running_loop()
        ran: list[float] = []

        async def trims(n: int) -> None:
            for _ in range(400):
                if len(ran) >= n:
                    return
                await asyncio.sleep(0.05)

        with ThreadPoolExecutor(1) as pool:
            schedule = TrimSchedule(pool, every=1.0)
            schedule.request(loop, lambda: ran.append(time.monotonic()))
            await trims(1)  # the first close of a quiet server trims at once
            for _ in range(3):  # more closes within the period: one trim, after them
                schedule.request(loop, lambda: ran.append(time.monotonic()))
            last_close = time.monotonic()
            await trims(2)
            await asyncio.sleep(1.5)  # and no other
        return ran, last_close

    ran, last_close = asyncio.run(burst())
    assert len(ran) == 2, ran
    assert ran[1] > last_close


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle, as a closed session is
        self.payload = bytearray(1 << 20)


def test_a_trim_frees_what_only_the_cyclic_collector_can():
    gc.disable()  # as in an idle server: nothing allocates, no collection starts
    try:
        node = weakref.ref(Node())
        assert node() is not None
        memory.trim()
        assert node() is None
    finally:
        gc.enable()


def test_duckdb_purges_its_allocator_in_the_background(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        (value,) = conn.execute(
            "SELECT value FROM duckdb_settings() WHERE name = 'allocator_background_threads'"
        ).fetchone()
    assert value == "true"
