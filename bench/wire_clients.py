"""The clients bench/wire.py runs: fetchers of one big result (psycopg, asyncpg and a bare
socket that reads the reply without decoding it), and concurrent loops of small statements
over the wire or through an embedded connection, timed with their CPU cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import psycopg

import elacsym_sql

WARMUP = 10  # statements per client before a timed loop
STREAM_CHUNK = 10_000  # rows per chunk of psycopg_stream


# -- one big result --------------------------------------------------------------------------

Fetch = tuple[Callable[[], int], Callable[[], None]]  # (run the statement, close)


def psycopg_fetch(dsn: str, sql: str, binary: bool) -> Fetch:
    conn = psycopg.connect(dsn, autocommit=True)

    def run() -> int:
        with conn.cursor(binary=binary) as cur:
            cur.execute(sql)
            return len(cur.fetchall())

    return run, conn.close


def psycopg_stream(dsn: str, sql: str) -> Fetch:
    """`cursor.stream(size=...)`: libpq's chunked rows mode (libpq 17+), rows kept in a list
    as fetchall keeps them."""
    conn = psycopg.connect(dsn, autocommit=True)

    def run() -> int:
        with conn.cursor(binary=True) as cur:
            return len(list(cur.stream(sql, size=STREAM_CHUNK)))

    return run, conn.close


def asyncpg_fetch(port: int, user: str, database: str, sql: str) -> Fetch:
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(
        asyncpg.connect(host="127.0.0.1", port=port, user=user, database=database)
    )

    def run() -> int:
        return len(loop.run_until_complete(conn.fetch(sql)))

    def close() -> None:
        loop.run_until_complete(conn.close())
        loop.close()

    return run, close


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


_READY_IDLE = b"Z\x00\x00\x00\x05I"


def raw_fetch(port: int, user: str, database: str, sql: str) -> Fetch:
    """The statement over a bare socket, binary results, the reply read and not decoded.
    Returns the bytes received (the reply ends with ReadyForQuery)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    params = (
        b"".join(
            k + b"\x00" + v.encode() + b"\x00"
            for k, v in ((b"user", user), (b"database", database))
        )
        + b"\x00"
    )
    body = struct.pack("!i", 196608) + params
    sock.sendall(struct.pack("!i", len(body) + 4) + body)
    _read_until_ready(sock)
    query = (
        _message(b"P", b"\x00" + sql.encode() + b"\x00" + struct.pack("!h", 0))
        + _message(b"B", b"\x00\x00" + struct.pack("!hhhh", 0, 0, 1, 1))
        + _message(b"E", b"\x00" + struct.pack("!i", 0))
        + _message(b"S", b"")
    )

    def run() -> int:
        sock.sendall(query)
        return _read_until_ready(sock)

    def close() -> None:
        with contextlib.suppress(OSError):
            sock.sendall(_message(b"X", b""))
        sock.close()

    return run, close


def _read_until_ready(sock: socket.socket) -> int:
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    total = 0
    tail = b""
    while True:
        n = sock.recv_into(view)
        if n == 0:
            raise ConnectionError("server closed the connection")
        total += n
        tail = (tail + bytes(view[max(0, n - 6) : n]))[-6:]
        if tail == _READY_IDLE:
            return total


# -- small statements, concurrent clients ----------------------------------------------------

Query = Callable[[Any], list]  # one statement for one parameter (or None), its rows


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_clients(
    make: Callable[[], tuple[Query, Callable[[], None]]],
    clients: int,
    params: list[Any],
    seconds: float,
    server_cpu: Callable[[], float] | None = None,
) -> dict[str, float]:
    """Each of `clients` threads makes its own client, warms up, then runs statements in
    turn over `params` (each thread from its own offset) until `seconds` have passed.
    CPU per statement over the timed part: this process's (the clients', or everything
    when embedded) and, given `server_cpu`, the server process's."""
    bounds = {"deadline": 0.0, "cpu": 0.0, "server_cpu": 0.0}

    def go() -> None:  # run by one thread once all have arrived, before any is released
        bounds["cpu"] = time.process_time()
        bounds["server_cpu"] = server_cpu() if server_cpu else 0.0
        bounds["deadline"] = time.perf_counter() + seconds

    barrier = threading.Barrier(clients + 1, action=go)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        run, close = make()
        try:
            for j in range(WARMUP):
                run(params[(i * 37 + j) % len(params)])
            barrier.wait()
            mine = latencies[i]
            j = i * 37
            while True:
                start = time.perf_counter()
                if start >= bounds["deadline"]:
                    break
                run(params[j % len(params)])
                mine.append(time.perf_counter() - start)
                j += 1
        except BaseException as exc:  # reported below, after the other threads
            errors.append(exc)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.abort()
        finally:
            close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - bounds["cpu"]
    server = server_cpu() - bounds["server_cpu"] if server_cpu else None
    if errors:
        raise errors[0]
    flat = np.array([x for lat in latencies for x in lat]) * 1e3
    return {
        "clients": clients,
        "statements": len(flat),
        "qps": len(flat) / elapsed,
        "mean_ms": float(flat.mean()),
        "p50_ms": float(np.percentile(flat, 50)),
        "p99_ms": float(np.percentile(flat, 99)),
        "this_process_cpu_ms": cpu * 1e3 / len(flat),
        "server_cpu_ms": None if server is None else server * 1e3 / len(flat),
    }


def wire_client(dsn: str, sql: str, prepare: bool = True) -> Callable[[], tuple[Query, Any]]:
    def make() -> tuple[Query, Callable[[], None]]:
        conn = psycopg.connect(dsn, autocommit=True)
        if not prepare:
            conn.prepare_threshold = None
        cur = conn.cursor()

        def run(param: Any) -> list:
            cur.execute(sql, None if param is None else [param])
            return cur.fetchall()

        return run, conn.close

    return make


def embedded_client(con: elacsym_sql.Connection, sql: str) -> Callable[[], tuple[Query, Any]]:
    def make() -> tuple[Query, Callable[[], None]]:
        cur = con.cursor()

        def run(param: Any) -> list:
            return cur.execute(sql, None if param is None else [param]).fetchall()

        return run, cur.close

    return make
