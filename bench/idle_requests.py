"""Object-store requests an idle namespace costs, per namespace, counted at the S3 server.

    python bench/idle_requests.py [--namespaces 5] [--seconds 800] [--label after] [--cluster]

A moto S3 server (child process) behind the counting proxy of elacsym_sql.testing.faulty_s3
(no faults): every request the server receives is counted, retries and LIST pages too, and
attributed to a namespace by its key. One embedded connection with the background indexer
on (the default settings otherwise) creates the namespaces, writes 100 rows to each and
reads each once; then nothing touches them for `--seconds` while the proxy counts.

Printed per namespace: requests in the first 10 s after the last statement, from 10 s to
75 s (the watch of 60 s and its last look), from 75 s to 60 s before the end, and in the
last 60 s. "First hour" counts everything seen plus the rest of the hour at the rate of
the last 60 s (the steady cost); the default 800 s covers the one garbage collection
due a grace period (600 s x 1.1) after the last fold. Run it on the code before and after
a change (PYTHONPATH) to compare.

`--cluster`: the connection's engine is a cluster member (`ClusterNode`, the sole member,
so it owns every namespace, as `elacsym serve --cluster` would), and the namespaces are
written through it: what an owner pays for its idle namespaces (its periodic sweep,
decisions 0057 and 0086). Whole-root requests are then shown by prefix (heartbeats, the
dirty markers' LIST, the full sweep's LIST of `.namespaces/`).

Writes bench/results/idle_requests-<label>.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import tempfile
import time
from collections import Counter
from pathlib import Path

import common

import elacsym_sql
from elacsym_sql.cluster import ClusterNode
from elacsym_sql.config import Settings
from elacsym_sql.layout import namespace_of
from elacsym_sql.testing.faulty_s3 import FaultyS3Proxy
from elacsym_sql.testing.s3servers import moto_server

ROOT = "root"
WINDOWS = (10.0, 75.0)  # window edges in seconds after the last statement
LAST = 60.0  # the steady rate: the window this long before the end


def by_namespace(keys: Counter[str]) -> Counter[str]:
    """Requests by namespace, from requests by key under the root; "(root)" for keys of the
    whole root."""
    out: Counter[str] = Counter()
    for key, n in keys.items():
        out[namespace_of(key.removeprefix(ROOT + "/")) or "(root)"] += n
    return out


def by_root_prefix(keys: Counter[str]) -> dict[str, int]:
    """Requests for keys of the whole root, by their first two segments (a listing: its
    prefix), e.g. ".cluster/dirty/", ".namespaces/"."""
    out: Counter[str] = Counter()
    for key, n in keys.items():
        rel = key.removeprefix(ROOT + "/")
        if namespace_of(rel) is None:
            depth = 2 if rel.startswith(".cluster/") else 1
            out["/".join(rel.split("/")[:depth]) + "/"] += n
    return dict(sorted(out.items()))


def run(namespaces: int, seconds: float, options: dict[str, object]) -> dict[str, object]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        moto_server(Path(tmp)) as s3,
        FaultyS3Proxy(s3.endpoint) as proxy,
    ):
        known = {f.name for f in dataclasses.fields(Settings)}
        extra = {k: v for k, v in options.items() if k in known}  # older code lacks some
        con = elacsym_sql.connect(
            f"s3://{s3.bucket}/{ROOT}",
            **{**s3.connect_kwargs(), "s3_endpoint": proxy.endpoint},
            cache_dir=str(Path(tmp) / "cache"),
            **extra,
        )
        node = None
        if options.get("cluster"):
            node = ClusterNode(con.database.engine, con.database.settings).start(None)
        names = [f"idle{i}" for i in range(namespaces)]
        for name in names:
            con.execute(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, v TEXT)")
            con.executemany(f"INSERT INTO {name} VALUES (?, ?)", [(i, "x") for i in range(100)])
            con.execute(f"SELECT count(*) FROM {name}").fetchall()
        start = time.monotonic()
        marks = [proxy.keys_requested()]
        for edge in (*WINDOWS, seconds - LAST, seconds):
            time.sleep(max(0.0, start + edge - time.monotonic()))
            marks.append(proxy.keys_requested())
        if node is not None:
            node.stop()
        con.close()
    windows = [by_namespace(b - a) for a, b in itertools.pairwise(marks)]
    whole_root = by_root_prefix(marks[-1] - marks[0])
    rows = {}
    for name in names:
        counts = [w[name] for w in windows]
        first_hour = sum(counts) + counts[-1] / LAST * (3600 - seconds)
        rows[name] = {"windows": counts, "first_hour": first_hour}
    root = sum(w["(root)"] for w in windows)
    return {"rows": rows, "root": root, "root_by_prefix": whole_root, "applied": extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespaces", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=800.0)
    parser.add_argument("--label", default="after", help="names the results file")
    parser.add_argument("--idle-watch-seconds", type=float, default=None)
    parser.add_argument("--cluster", action="store_true", help="measure a cluster owner")
    args = parser.parse_args()
    if args.seconds < WINDOWS[-1] + LAST:
        parser.error(f"--seconds must be at least {WINDOWS[-1] + LAST:g}")
    options: dict[str, object] = {"indexer": True}
    if args.cluster:
        options |= {"cluster": True, "node_id": "owner"}
    if args.idle_watch_seconds is not None:
        options["idle_watch_seconds"] = args.idle_watch_seconds
    result = run(args.namespaces, args.seconds, options)
    print(f"idle requests per namespace ({args.label}; {args.seconds:g} s idle; "
          f"settings {result['applied']})")  # fmt: skip
    middle = f"75-{args.seconds - LAST:g} s"
    print(f"{'namespace':<10} {'0-10 s':>8} {'10-75 s':>8} {middle:>10} {'last 60 s':>10} "
          f"{'first hour':>11}")  # fmt: skip
    for name, row in result["rows"].items():  # type: ignore[union-attr]
        a, b, c, d = row["windows"]
        print(f"{name:<10} {a:>8} {b:>8} {c:>10} {d:>10} {row['first_hour']:>11.0f}")
    print(f"whole-root keys (markers, decisions): {result['root']} requests")
    for prefix, n in result["root_by_prefix"].items():  # type: ignore[union-attr]
        print(f"  {prefix:<20} {n:>6} ({n / args.seconds * 3600:.0f} an hour)")
    result |= {
        "label": args.label,
        "seconds": args.seconds,
        "machine": common.machine_basics(),
        "code": common.code_state(common.REPO, "elacsym_sql"),
    }
    common.write_results(common.RESULTS_DIR / f"idle_requests-{args.label}.json", result)


if __name__ == "__main__":
    main()
