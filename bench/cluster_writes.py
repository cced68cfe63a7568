"""Write throughput of a cluster (issue 11): single-row INSERTs over the wire from 64 clients
to one hot namespace and to 100 namespaces, with 1, 2 and 3 `elacsym serve` nodes.

    PYTHONPATH=. python bench/cluster_writes.py [--seconds 20] [--clients 64]
        [--nodes 1,2,3] [--backends moto,seaweedfs]

Per backend: an S3 server (moto in its own process; SeaweedFS `weed mini`) behind a counting
proxy (elacsym_sql.testing.faulty_s3 with no faults, in its own process), and nodes started
one after another on one root: `elacsym serve --cluster --workers 1` (tests/cluster/nodes.py,
default heartbeats, background indexer on). With 1 node the cells run, a second node joins
(every node sees it and they agree on the owners), the cells run again, and so on.

A cell: `--clients` threads, each with its own psycopg connection (autocommit) to node
`client % nodes`, send `INSERT INTO <table> VALUES (id, client, 'x' * 100)` one after
another for `--seconds` after 5 warm-up statements: "hot" all to one table; "100 ns" each
client to the 100 tables in turn from its own offset. Every cell writes new ids, and every
acknowledged row is then read back (count per cell; the run stops if one is missing).

Reported per cell: writes/s, p50/p99 latency, PUTs per acknowledged write counted at the
S3 server (WAL objects; all PUTs, with heartbeats, manifests and segments of the indexer),
the share of writes the receiving node forwarded to the owner (elacsym_forwarded_writes_total
of all nodes), errors by SQLSTATE, and the 1-minute load average at the cell's end (the
machine is shared). Writes bench/results/cluster_writes.json and a plot (matplotlib).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import psycopg
from common import RESULTS_DIR, code_state, format_loads, machine_basics, write_results

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from elacsym_sql.config import Settings  # noqa: E402
from elacsym_sql.testing import s3servers  # noqa: E402
from elacsym_sql.testing.faulty_s3 import FaultyS3Proxy  # noqa: E402
from tests.cluster.nodes import Node, start_node, wait_for  # noqa: E402

NAMESPACES = [f"w{i:03d}" for i in range(100)]
HOT = "hot"
WARMUP = 5
BODY = "x" * 100
CELL_IDS = 1 << 40  # ids of one cell: [cell * CELL_IDS, (cell + 1) * CELL_IDS)
CLIENT_IDS = 1 << 30
FORWARDED = 'elacsym_forwarded_writes_total{door="wire"}'
RESULTS = RESULTS_DIR / "cluster_writes.json"


# -- requests counted at the S3 server ------------------------------------------------------


def _kind(request: str) -> str:
    """What a request was: "PUT wal", "PUT heartbeat", "PUT other", or its method."""
    method, target = request.split(" ", 1)
    if method != "PUT":
        return method
    key = urlsplit(target).path.lstrip("/").partition("/")[2]  # without the bucket
    if "/wal/" in key:
        return "PUT wal"
    return "PUT heartbeat" if "/.cluster/" in f"/{key}" else "PUT other"


def _count_requests(upstream: str, pipe: Connection) -> None:
    """A counting proxy in front of `upstream`, in its own process: sends its endpoint, then
    answers each message with the requests received so far, by kind."""
    with FaultyS3Proxy(upstream) as proxy:
        pipe.send(proxy.endpoint)
        while pipe.recv():
            kinds: Counter[str] = Counter()
            for request, n in proxy.requests_received().items():
                kinds[_kind(request)] += n
            pipe.send(kinds)


class CountingProxy:
    def __init__(self, upstream: str) -> None:
        self._pipe, theirs = multiprocessing.get_context("spawn").Pipe()
        self._proc = multiprocessing.get_context("spawn").Process(
            target=_count_requests, args=(upstream, theirs), daemon=True
        )
        self._proc.start()
        self.endpoint: str = self._pipe.recv()

    def counts(self) -> Counter[str]:
        self._pipe.send(True)
        return self._pipe.recv()

    def close(self) -> None:
        self._pipe.send(False)
        self._proc.join(30)


@contextlib.contextmanager
def s3_backend(name: str, workdir: Path) -> Iterator[tuple[Settings, CountingProxy]]:
    """Settings of a root on `name` ("moto" or "seaweedfs"), reached through a counting
    proxy, and the proxy."""
    start = s3servers.seaweedfs_server if name == "seaweedfs" else s3servers.moto_server
    with start(workdir / name) as server:
        proxy = CountingProxy(server.endpoint)
        try:
            kwargs = server.connect_kwargs() | {"s3_endpoint": proxy.endpoint}
            yield Settings(data=f"s3://{server.bucket}/bench", **kwargs), proxy
        finally:
            proxy.close()


# -- one cell -------------------------------------------------------------------------------


def run_cell(nodes: list[Node], tables: list[str], clients: int, seconds: float, base: int):
    """`clients` threads writing single-row INSERTs through `nodes` in turn; returns
    (latencies in s of the timed statements, wall seconds, acknowledged writes in all,
    errors by SQLSTATE, the timed window's bounds for counters)."""
    window: dict[str, Any] = {}

    def opened() -> None:  # by the last thread to arrive, before any is released
        window["forwarded"] = sum(n.metric(FORWARDED) for n in nodes)
        window["requests"] = proxy_counts()
        window["deadline"] = time.perf_counter() + seconds

    barrier = threading.Barrier(clients + 1, action=opened)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    acked = [0] * clients
    errors: Counter[str] = Counter()
    failures: list[BaseException] = []

    def client(c: int) -> None:
        node = nodes[c % len(nodes)]
        try:
            with psycopg.connect(f"host=127.0.0.1 port={node.pg_port}", autocommit=True) as conn:
                j = 0

                def one() -> None:
                    nonlocal j
                    table = tables[(c + j) % len(tables)]
                    key = base + c * CLIENT_IDS + j
                    j += 1
                    try:
                        conn.execute(f"INSERT INTO {table} VALUES (%s, %s, %s)", [key, c, BODY])
                        acked[c] += 1
                    except psycopg.Error as exc:
                        errors[exc.sqlstate or type(exc).__name__] += 1

                for _ in range(WARMUP):
                    one()
                barrier.wait()
                while (start := time.perf_counter()) < window["deadline"]:
                    one()
                    latencies[c].append(time.perf_counter() - start)
        except BaseException as exc:  # reported below, after the other threads
            failures.append(exc)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.abort()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    took = time.perf_counter() - began
    if failures:
        raise failures[0]
    window["forwarded"] = sum(n.metric(FORWARDED) for n in nodes) - window["forwarded"]
    window["requests"] = proxy_counts() - window["requests"]
    flat = [x for lat in latencies for x in lat]
    return flat, took, sum(acked), errors, window


proxy_counts: Any = None  # set in main(): the current backend's CountingProxy.counts


def stored_rows(node: Node, tables: list[str], base: int) -> int:
    """Rows of one cell (ids from `base`) in `tables`, read through `node`."""
    counts = " UNION ALL ".join(
        f"SELECT count(*) AS n FROM {t} WHERE id >= {base} AND id < {base + CELL_IDS}"
        for t in tables
    )
    return int(node.sql(f"SELECT sum(n) FROM ({counts})")[0][0])


# -- the run --------------------------------------------------------------------------------


def grow(nodes: list[Node], settings: Settings, workdir: Path) -> None:
    """Start one more node; return once every node sees all of them live and they agree
    on the owners."""
    nodes.append(start_node(settings, f"n{len(nodes) + 1}", workdir))
    ids = {n.node_id for n in nodes}
    for node in nodes:
        wait_for(
            lambda n=node: {m for m, (live, _) in n.members().items() if live} == ids,
            timeout=120,
            what=f"{node.node_id} sees {sorted(ids)}",
        )
    wait_for(lambda: len({str(n.owners([*NAMESPACES, HOT])) for n in nodes}) == 1, timeout=120)


def run_backend(name: str, args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    global proxy_counts
    rows: list[dict[str, Any]] = []
    nodes: list[Node] = []
    with s3_backend(name, workdir) as (settings, proxy):
        proxy_counts = proxy.counts
        settings = Settings(**{**settings.__dict__, "cache_dir": str(workdir / f"{name}-cache")})
        try:
            for count in args.nodes:
                while len(nodes) < count:
                    grow(nodes, settings, workdir / f"{name}-nodes")
                if len(rows) == 0:
                    for table in [HOT, *NAMESPACES]:
                        nodes[0].sql(
                            f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, client INT, body TEXT)"
                        )
                for workload, tables in (("hot", [HOT]), ("100 ns", NAMESPACES)):
                    base = len(rows) * CELL_IDS + CELL_IDS
                    lat, took, acked, errors, window = run_cell(
                        nodes, tables, args.clients, args.seconds, base
                    )
                    stored = stored_rows(nodes[-1], tables, base)
                    if stored != acked:
                        raise AssertionError(f"{acked} writes acknowledged, {stored} stored")
                    timed = len(lat)
                    req = window["requests"]
                    ms = np.array(lat) * 1e3
                    row = {
                        "backend": name,
                        "nodes": count,
                        "workload": workload,
                        "writes_per_s": timed / took,
                        "p50_ms": float(np.percentile(ms, 50)),
                        "p99_ms": float(np.percentile(ms, 99)),
                        "wal_puts_per_write": req["PUT wal"] / timed,
                        "puts_per_write": sum(v for k, v in req.items() if k.startswith("PUT"))
                        / timed,
                        "requests_per_write": sum(req.values()) / timed,
                        "forwarded": window["forwarded"] / timed,
                        "errors": dict(errors),
                        "load": os.getloadavg()[0],
                        "requests": dict(req),
                        "acked_with_warmup": acked,
                    }
                    rows.append(row)
                    print_row(row)
        finally:
            for node in nodes:
                node.stop()
    return rows


HEADER = (
    f"{'backend':9} {'nodes':>5} {'workload':8} {'writes/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
    f"{'WAL PUTs/w':>10} {'PUTs/w':>7} {'reqs/w':>7} {'fwd':>5} {'load':>5}  errors"
)


def print_row(r: dict[str, Any]) -> None:
    print(
        f"{r['backend']:9} {r['nodes']:>5} {r['workload']:8} {r['writes_per_s']:>8.1f} "
        f"{r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['wal_puts_per_write']:>10.3f} "
        f"{r['puts_per_write']:>7.3f} {r['requests_per_write']:>7.2f} {r['forwarded']:>5.0%} "
        f"{r['load']:>5.1f}  {r['errors'] or '-'}",
        flush=True,
    )


def plot(rows: list[dict[str, Any]], clients: int) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    fig, (speed, puts) = plt.subplots(1, 2, figsize=(10, 4))
    for backend in dict.fromkeys(r["backend"] for r in rows):
        for workload in ("hot", "100 ns"):
            cells = [r for r in rows if r["backend"] == backend and r["workload"] == workload]
            label = f"{backend}, {workload}"
            x = [r["nodes"] for r in cells]
            speed.plot(x, [r["writes_per_s"] for r in cells], "o-", label=label)
            puts.plot(x, [r["wal_puts_per_write"] for r in cells], "o-", label=label)
    speed.set(xlabel="nodes", ylabel="writes/s", title=f"single-row INSERTs, {clients} clients")
    puts.set(xlabel="nodes", ylabel="WAL PUTs per write", title="PUTs per acknowledged write")
    for ax in (speed, puts):
        ax.set_xticks(sorted({r["nodes"] for r in rows}))
        ax.legend()
    path = RESULTS.with_suffix(".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"plot: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--nodes", default="1,2,3", help="node counts, growing")
    parser.add_argument("--backends", default="moto,seaweedfs")
    args = parser.parse_args()
    args.nodes = sorted(int(n) for n in args.nodes.split(","))
    loads = format_loads(os.getloadavg())
    print(f"{args.clients} clients, {args.seconds:g} s per cell; load {loads}")
    print(HEADER)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cluster-writes-") as tmp:
        for backend in args.backends.split(","):
            rows += run_backend(backend, args, Path(tmp))
    print(f"load average at the end: {format_loads(os.getloadavg())}")
    write_results(
        RESULTS,
        {
            "machine": machine_basics(),
            "code": code_state(REPO, "elacsym_sql"),
            "clients": args.clients,
            "seconds": args.seconds,
            "cells": rows,
        },
    )
    plot(rows, args.clients)


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"took {time.monotonic() - started:.0f} s")
