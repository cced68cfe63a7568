"""Forwarding overhead per statement (issue 11 item 3; decisions 0058, 0084): single-row
INSERTs over the wire sent to a namespace's owner, and the same sent to a member that
does not own it (which forwards each to the owner over its pooled connection).

    PYTHONPATH=. python bench/forward_overhead.py [--seconds 10] [--rounds 3] [--s3]

Setup: two `elacsym serve --cluster` processes, a and b, on one root (a local directory,
or with --s3 a bucket of an in-process moto server); 16 tables `fwd_<i> (id BIGINT PRIMARY
KEY, v TEXT)`, all owned by b. Each client thread has its own psycopg connection and its
own table (so clients do not race for one namespace's WAL), and runs `INSERT INTO fwd_<i>
VALUES (%s, 'x')` with new ids for `--seconds` after a warm-up (bench/wire_clients.py's
loop). Cases: 1 and 16 clients, connected to b (the owner) or to a (forwarded); rounds
alternate owner, forwarded, owner, ... so that a change in the machine's load hits both.

Reported per case (median of the rounds): statements/s, mean/p50/p99 latency, CPU ms per
statement of both servers together and of this process (the clients); and the forwarding
overhead: forwarded minus owner latency. Writes bench/results/forward_overhead.json.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from common import RESULTS_DIR, format_loads, machine_basics, median_by_key, write_results
from wire_clients import process_cpu_seconds, run_clients

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from elacsym_sql.cluster import owner  # noqa: E402
from elacsym_sql.config import Settings  # noqa: E402
from tests.cluster.nodes import start_node, wait_for  # noqa: E402

CLIENTS = (1, 16)
TABLES = 16


def tables_owned_by_b() -> list[str]:
    names = (f"fwd_{i}" for i in itertools.count())
    return list(itertools.islice((n for n in names if owner(n, ["a", "b"]) == "b"), TABLES))


def inserting_client(dsn: str, tables: list[str]) -> Any:
    """make() for run_clients: each call a connection writing its own table."""
    slots = itertools.count()
    ids = itertools.count(1)
    lock = threading.Lock()

    def make() -> tuple[Any, Any]:
        with lock:
            table = tables[next(slots) % len(tables)]
        conn = psycopg.connect(dsn, autocommit=True)
        sql = f"INSERT INTO {table} VALUES (%s, 'x')"

        def run(_: Any) -> None:
            with lock:
                key = next(ids)
            conn.execute(sql, [key])

        return run, conn.close

    return make


def settings_for(root: Path, s3: bool) -> Settings:
    if not s3:
        return Settings(data=str(root / "data"), cache_dir=str(root / "cache"))
    import boto3
    from moto.server import ThreadedMotoServer

    port = int(os.environ.get("MOTO_PORT", "0")) or _free_port()
    ThreadedMotoServer(ip_address="127.0.0.1", port=port).start()
    endpoint = f"http://127.0.0.1:{port}"
    keys = {"aws_access_key_id": "k", "aws_secret_access_key": "s"}
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys).create_bucket(
        Bucket="fwd"
    )
    return Settings(
        data="s3://fwd/root",
        s3_endpoint=endpoint,
        s3_region="us-east-1",
        s3_access_key_id="k",
        s3_secret_access_key="s",
        cache_dir=str(root / "cache"),
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--s3", action="store_true", help="a moto bucket, not a directory")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fwd-bench-"))
    settings = settings_for(root, args.s3)
    a = start_node(settings, "a", root / "nodes")
    b = start_node(settings, "b", root / "nodes")
    try:
        for node in (a, b):  # both see both live
            wait_for(lambda n=node: [live for live, _ in n.members().values()] == [True] * 2)
        tables = tables_owned_by_b()
        for name in tables:
            b.sql(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, v TEXT)")
        assert set(a.owners(tables).values()) == {"b"}

        def servers_cpu() -> float:
            return sum(process_cpu_seconds(n.proc.pid) for n in (a, b))

        runs: dict[str, list[dict[str, float]]] = {}
        loads = []
        for round_ in range(args.rounds):
            for clients in CLIENTS:
                for case, node in (("owner", b), ("forwarded", a)):
                    dsn = f"host=127.0.0.1 port={node.pg_port}"
                    loads.append(os.getloadavg()[0])
                    found = run_clients(
                        inserting_client(dsn, tables),
                        clients,
                        [None],
                        args.seconds,
                        servers_cpu,
                    )
                    found = {k: v for k, v in found.items() if v is not None}
                    runs.setdefault(f"{case}/{clients}", []).append(found)
                    print(
                        f"round {round_ + 1} {case:9s} {clients:2d} clients: "
                        f"{found['qps']:7.1f}/s mean {found['mean_ms']:6.2f} ms "
                        f"p99 {found['p99_ms']:6.2f} ms servers {found['server_cpu_ms']:.2f} "
                        f"ms CPU/stmt",
                        flush=True,
                    )
        forwarded = a.metric('elacsym_forwarded_writes_total{door="wire"}')
        table = {key: median_by_key(found) for key, found in runs.items()}
    finally:
        a.stop()
        b.stop()
    print(f"\nload average during the runs: {format_loads(loads)}; a forwarded {forwarded:.0f}")
    print("| clients | case | statements/s | mean ms | p50 ms | p99 ms | servers CPU ms/stmt |")
    print("|---|---|---|---|---|---|---|")
    for clients in CLIENTS:
        for case in ("owner", "forwarded"):
            r = table[f"{case}/{clients}"]
            print(
                f"| {clients} | {case} | {r['qps']:.0f} | {r['mean_ms']:.2f} | {r['p50_ms']:.2f} "
                f"| {r['p99_ms']:.2f} | {r['server_cpu_ms']:.2f} |"
            )
        over = table[f"forwarded/{clients}"]["mean_ms"] - table[f"owner/{clients}"]["mean_ms"]
        print(f"overhead at {clients} client(s): {over:+.2f} ms per statement (mean)")
    write_results(
        RESULTS_DIR / "forward_overhead.json",
        {
            "machine": machine_basics(),
            "backend": "moto" if args.s3 else "local directory",
            "seconds": args.seconds,
            "rounds": runs,
            "median": table,
            "load_average": loads,
            "forwarded_by_a": forwarded,
        },
    )


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"took {time.monotonic() - started:.0f} s")
