"""The server gives memory back as sessions close (server/memory.py, decision 0048): closed
sessions are freed though they are reference cycles, and a burst of closes ends in a trim."""

from __future__ import annotations

import asyncio
import gc
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg

from elacsym_sql.server.memory import TrimSchedule
from elacsym_sql.server.session import Session

from .wire_client import Client, query


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


def live_sessions() -> int:
    return sum(isinstance(o, Session) for o in gc.get_objects())


def test_closed_sessions_are_freed_by_the_server(wire, dsn):
    port, _ = wire
    gc.collect()
    gc.disable()  # only the server's own trim may collect from here
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT count(*) FROM docs").fetchone()
        quitter = Client(port)  # hangs up in the middle of a large result
        quitter.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        quitter.sock.sendall(query("SELECT i, 'row ' || i FROM range(5000000) t(i)"))
        quitter.sock.recv(1 << 12)
        quitter.sock.close()
        for _ in range(300):  # the server notices, closes the session, then trims
            if live_sessions() == 0:
                break
            time.sleep(0.1)
        assert live_sessions() == 0
    finally:
        gc.enable()


def test_duckdb_purges_its_allocator_in_the_background(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        (value,) = conn.execute(
            "SELECT value FROM duckdb_settings() WHERE name = 'allocator_background_threads'"
        ).fetchone()
    assert value == "true"
