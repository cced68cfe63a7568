"""vector_search over the wire with 16 clients against `elacsym serve --workers 1` and
`--workers 2` (issue 11 item 6; decision 0078), in alternating rounds.

    PYTHONPATH=. python bench/workers.py [--vectors 30000] [--seconds 15] [--rounds 3]

Setup: `docs (id BIGINT PRIMARY KEY, emb FLOAT[384]) WITH (metric = 'cosine')`, the first
`--vectors` sentence embeddings of ../shared/data/sentences, loaded and folded (one segment
with its HNSW index) by an embedded connection; the last 1,000 embeddings are the queries.
Each round starts `elacsym serve --workers W` over that directory (its own disk cache),
waits until every worker is a live member, and runs bench/wire.py's vector_search loop:
16 client threads in this process, each with its own psycopg connection through the
shared port, `SELECT id FROM vector_search('docs', %b::float4[], 10)` (the vector sent as a
binary parameter: the clients run on the same cores, so their CPU is kept small),
`--seconds` after a warm-up. Rounds alternate 1, 2, 1, 2, ... so that a change in the
machine's load hits both.

Reported per round: queries/s (wall clock), server CPU ms per query (the parent and every
worker, from /proc), this process's (the clients') CPU ms per query, and the CPU the rest of
the machine used meanwhile (busy cores from /proc/stat minus the server's and ours): the
machine is shared, so that is what the numbers must be read against. Writes
bench/results/workers.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from common import RESULTS_DIR, as_float32, format_loads, machine_basics, sentence_vectors
from servers import ElacsymServer, load_elacsym
from wire_clients import process_cpu_seconds, run_clients, wire_client
from wire_measure import VECTOR_WIRE_SQL

CLIENTS = 16
QUERIES = 1000
SQL = VECTOR_WIRE_SQL.replace("%s", "%b")


def busy_cores_seconds() -> float:
    """CPU seconds every core of the machine has been busy so far (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_members(dsn: str, workers: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute("SELECT live FROM elacsym_cluster()").fetchall()
        if len(rows) == workers and all(live for (live,) in rows):
            return
        time.sleep(0.5)
    raise RuntimeError(f"{workers} workers did not all become live members")


def one_round(root: Path, workers: int, queries: list[Any], seconds: float) -> dict[str, Any]:
    log = root / f"serve-{workers}-{time.monotonic_ns()}.log"
    server = ElacsymServer(root / "data", root / f"cache-{workers}", log, workers=workers)
    try:
        wait_members(server.dsn, workers)
        pids = server.processes()

        def server_cpu() -> float:
            return sum(process_cpu_seconds(p) for p in pids)

        busy, loads = busy_cores_seconds(), os.getloadavg()
        start_server, start_self = server_cpu(), time.process_time()
        started = time.perf_counter()
        found = run_clients(wire_client(server.dsn, SQL), CLIENTS, queries, seconds, server_cpu)
        elapsed = time.perf_counter() - started
        used = server_cpu() - start_server + time.process_time() - start_self
        others = (busy_cores_seconds() - busy - used) / elapsed
    finally:
        server.stop()
    return found | {
        "workers": workers,
        "others_cores": max(0.0, others),
        "load_before": format_loads(loads),
        "load_after": format_loads(os.getloadavg()),
    }


def render(rounds: list[dict[str, Any]]) -> str:
    lines = [
        "| workers | q/s | server CPU ms/q | clients' CPU ms/q | p50 ms | p99 ms "
        "| other processes (cores busy) | load avg before -> after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rounds:
        lines.append(
            f"| {r['workers']} | {r['qps']:,.0f} | {r['server_cpu_ms']:.2f} | "
            f"{r['this_process_cpu_ms']:.2f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['others_cores']:.2f} | {r['load_before']} -> {r['load_after']} |"
        )
    by = {w: [r["qps"] for r in rounds if r["workers"] == w] for w in (1, 2)}
    if by[1] and by[2]:
        ratio = (sum(by[2]) / len(by[2])) / (sum(by[1]) / len(by[1]))
        lines.append(f"\nmean q/s, --workers 2 / --workers 1: {ratio:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=30_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3, help="pairs of (1 worker, 2 workers)")
    args = parser.parse_args(argv)
    x = sentence_vectors()
    base = as_float32(x[: args.vectors])
    queries = [list(map(float, q)) for q in as_float32(x[-QUERIES:])]
    with tempfile.TemporaryDirectory(prefix="elacsym-workers-") as tmp:
        root = Path(tmp)
        print(f"loading {args.vectors:,} vectors ...", flush=True)
        load_elacsym(root / "data", root / "cache-load", 1, base)
        rounds = []
        for _ in range(args.rounds):
            for workers in (1, 2):
                rounds.append(one_round(root, workers, queries, args.seconds))
                print(f"  --workers {workers}: {rounds[-1]['qps']:,.0f} q/s", flush=True)
    table = render(rounds)
    print(table)
    RESULTS_DIR.mkdir(exist_ok=True)
    out = {"machine": machine_basics(), "args": vars(args), "rounds": rounds, "table": table}
    (RESULTS_DIR / "workers.json").write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
