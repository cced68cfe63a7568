"""What bench/wire.py measures: the statements, section 1 (rows/s of one big SELECT per
client) and sections 2 and 3 (small statements by concurrent clients, the wire's overhead).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from common import K
from servers import ElacsymServer, PostgresCluster
from wire_clients import (
    STREAM_CHUNK,
    Fetch,
    asyncpg_fetch,
    embedded_client,
    process_cpu_seconds,
    psycopg_fetch,
    psycopg_stream,
    raw_fetch,
    run_clients,
    wire_client,
)

import elacsym_sql

CLIENTS = (1, 4, 16)
ROWS_SQL = "SELECT id, title, price FROM items"
VECTOR_WIRE_SQL = f"SELECT id FROM vector_search('docs', %s::float4[], {K})"
VECTOR_EMBEDDED_SQL = f"SELECT id FROM vector_search('docs', ?::float4[], {K})"


# -- 1. rows ---------------------------------------------------------------------------------


def bench_rows(
    name: str, dsn: str, port: int, user: str, database: str, rows: int, repeat: int
) -> dict[str, dict[str, float]]:
    clients: dict[str, Callable[[], Fetch]] = {
        "psycopg binary fetchall": lambda: psycopg_fetch(dsn, ROWS_SQL, True),
        "psycopg text fetchall": lambda: psycopg_fetch(dsn, ROWS_SQL, False),
        f"psycopg binary stream(size={STREAM_CHUNK:,})": lambda: psycopg_stream(dsn, ROWS_SQL),
        "asyncpg fetch (binary)": lambda: asyncpg_fetch(port, user, database, ROWS_SQL),
        "raw socket, binary, not decoded": lambda: raw_fetch(port, user, database, ROWS_SQL),
    }
    out = {}
    for label, make in clients.items():
        run, close = make()
        try:
            out[label] = time_rows(run, rows, repeat, counts_bytes=label.startswith("raw"))
        finally:
            close()
        print(f"  {name} {label}: {out[label]['rows_per_s']:,.0f} rows/s", flush=True)
    return out


def time_rows(run: Callable[[], int], rows: int, repeat: int, counts_bytes: bool = False) -> dict:
    run()  # warm-up: the server's first read of the namespace, the client's allocations
    times = []
    got = 0
    for _ in range(repeat):
        start = time.perf_counter()
        got = run()
        times.append(time.perf_counter() - start)
    if not counts_bytes and got != rows:
        raise AssertionError(f"expected {rows} rows, got {got}")
    best = min(times)
    result = {"best_s": best, "median_s": statistics.median(times), "rows_per_s": rows / best}
    if counts_bytes:
        result["bytes"] = got
        result["mb_per_s"] = got / best / 1e6
    return result


def bench_rows_embedded(con: elacsym_sql.Connection, rows: int, repeat: int) -> dict[str, float]:
    result = time_rows(lambda: len(con.execute(ROWS_SQL).fetchall()), rows, repeat)
    print(f"  elacsym embedded fetchall: {result['rows_per_s']:,.0f} rows/s", flush=True)
    return result


# -- 2 and 3. small queries, concurrent clients ----------------------------------------------


def measure(
    label: str,
    make: Callable,
    clients: int,
    params: list[Any],
    seconds: float,
    server_pid: int | None = None,
) -> dict:
    """One row of the small-query table; `server_pid`: the elacsym server, for its CPU."""
    cpu = (lambda: process_cpu_seconds(server_pid)) if server_pid else None
    result = {"label": label, **run_clients(make, clients, params, seconds, cpu)}
    print(
        f"  {label}, {clients} client(s): {result['qps']:,.0f} q/s, "
        f"mean {result['mean_ms']:.3f} ms, p99 {result['p99_ms']:.3f} ms",
        flush=True,
    )
    return result


def same_answers(dsn: str, con: elacsym_sql.Connection, params: list[list[float]]) -> bool:
    """Whether the wire and the embedded connection return the same ids for `params`."""
    wire, close = wire_client(dsn, VECTOR_WIRE_SQL)()
    try:
        embedded, _ = embedded_client(con, VECTOR_EMBEDDED_SQL)()
        return all(wire(p) == embedded(p) for p in params)
    finally:
        close()


WIRE_VECTOR = "vector_search, wire"
EMBEDDED_VECTOR = "vector_search, embedded"
UNPREPARED_VECTOR = "vector_search, wire, prepare_threshold=None"
BINARY_PARAM_VECTOR = "vector_search, wire, %b (binary parameter)"
WIRE_SELECT1 = "SELECT 1, wire"
EMBEDDED_SELECT1 = "SELECT 1, embedded"
POSTGRES_SELECT1 = "SELECT 1, PostgreSQL 15"


def bench_small(
    server: ElacsymServer,
    cluster: PostgresCluster | None,
    con: elacsym_sql.Connection,
    queries: list[list[float]],
    seconds: float,
) -> list[dict]:
    """Sections 2 and 3: rows of (path, clients) with queries/s, latency and CPU."""
    pid = server.pid
    rows: list[dict] = []
    wire = wire_client(server.dsn, VECTOR_WIRE_SQL)
    embedded = embedded_client(con, VECTOR_EMBEDDED_SQL)
    for clients in CLIENTS:
        rows.append(measure(WIRE_VECTOR, wire, clients, queries, seconds, pid))
        rows.append(measure(EMBEDDED_VECTOR, embedded, clients, queries, seconds))
    unprepared = wire_client(server.dsn, VECTOR_WIRE_SQL, prepare=False)
    rows.append(measure(UNPREPARED_VECTOR, unprepared, 1, queries, seconds, pid))
    binary_param = wire_client(server.dsn, VECTOR_WIRE_SQL.replace("%s", "%b"))
    rows.append(measure(BINARY_PARAM_VECTOR, binary_param, 1, queries, seconds, pid))
    select1 = [None]
    rows.append(
        measure(WIRE_SELECT1, wire_client(server.dsn, "SELECT 1"), 1, select1, seconds, pid)
    )
    rows.append(measure(EMBEDDED_SELECT1, embedded_client(con, "SELECT 1"), 1, select1, seconds))
    if cluster is not None:
        pg = wire_client(cluster.dsn, "SELECT 1")
        rows.append(measure(POSTGRES_SELECT1, pg, 1, select1, seconds))
    return rows


def overheads(rows: list[dict]) -> dict[str, float]:
    """Mean latency over the wire minus embedded, at 1 client, in ms."""

    def mean(label: str) -> float:
        return next(r["mean_ms"] for r in rows if (r["label"], r["clients"]) == (label, 1))

    embedded = mean(EMBEDDED_VECTOR)
    return {
        "vector_search (prepared after 5 runs)": mean(WIRE_VECTOR) - embedded,
        "vector_search, prepare_threshold=None": mean(UNPREPARED_VECTOR) - embedded,
        "vector_search, %b (binary parameter)": mean(BINARY_PARAM_VECTOR) - embedded,
        "SELECT 1": mean(WIRE_SELECT1) - mean(EMBEDDED_SELECT1),
    }
