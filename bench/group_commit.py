"""Group commit (decision 0076): single-row INSERTs from 1, 16 and 64 concurrent writers
(threads sharing one database, as a server's sessions do) on one hot namespace, with the
code before group commit and with this checkout's, in the same run: writes/s and WAL PUTs
per acknowledged write, on a local directory and on a moto S3 server (its own process).

    git worktree add /tmp/before <commit before group commit>
    python bench/group_commit.py --before /tmp/before [--seconds 10] [--rounds 3]

Each measurement runs in a child process with PYTHONPATH set to the code measured; the
background indexer is off, so every PUT counted is a WAL append. Rounds alternate before
and after (the machine is shared); the table shows medians, and PUTs over all rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# argv[1]: {"settings": {...}, "writers": n, "seconds": s}. Prints one JSON line.
CHILD = r"""
import json, sys, threading, time
from elacsym_sql.config import Settings
from elacsym_sql.sql import Connection, Database

cfg = json.loads(sys.argv[1])
db = Database(Settings(indexer=False, **cfg["settings"]))
setup = Connection(db, owns_database=False)
setup.execute("CREATE TABLE hot (id BIGINT PRIMARY KEY, writer BIGINT, body TEXT)")
store = db.engine.store
writers, seconds = cfg["writers"], cfg["seconds"]
acked = [0] * writers
failed = []
start = threading.Barrier(writers + 1)
stop = threading.Event()


def write(w):
    con = Connection(db, owns_database=False)
    con.execute("SELECT count(*) FROM hot").fetchall()
    start.wait()
    i = 0
    while not stop.is_set():
        try:
            con.execute("INSERT INTO hot VALUES (?, ?, ?)", [w * 10_000_000 + i, w, "x" * 100])
            acked[w] += 1
        except Exception as exc:
            failed.append(getattr(exc, "sqlstate", type(exc).__name__))
        i += 1


threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
for t in threads:
    t.start()
start.wait()
before = store.requests_of("hot")
began, cpu = time.perf_counter(), time.process_time()
time.sleep(seconds)
stop.set()
for t in threads:
    t.join()
took, cpu = time.perf_counter() - began, time.process_time() - cpu
after = store.requests_of("hot")
puts = sum(after[k] - before[k] for k in ("put", "conditional_put"))
stored = setup.execute("SELECT count(*) FROM hot").fetchall()[0][0]
import elacsym_sql
print(json.dumps({"acked": sum(acked), "seconds": took, "cpu": cpu, "puts": puts, "failed": failed,
                  "stored": stored, "code": elacsym_sql.__file__}))
"""


def _measure(code: Path, settings: dict[str, object], writers: int, seconds: float) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELACSYM_")}
    env["PYTHONPATH"] = str(code)
    cfg = {"settings": settings, "writers": writers, "seconds": seconds}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(cfg)],
        capture_output=True,
        text=True,
        env=env,
        cwd=code,  # `python -c` puts the working directory first on sys.path
        timeout=seconds * 10 + 300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"measurement failed ({code}, {writers} writers):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _root(tmp: str, backend: str, endpoint: str) -> dict[str, object]:
    """Settings of a fresh storage root on `backend` (a new directory or bucket)."""
    from elacsym_sql.testing.s3servers import MOTO_KEY, MOTO_SECRET, REGION, s3_client

    cache = {"cache_dir": f"{tmp}/cache-{uuid.uuid4().hex}"}
    if backend == "local":
        return {"data": f"{tmp}/{uuid.uuid4().hex}"} | cache
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint, MOTO_KEY, MOTO_SECRET).create_bucket(Bucket=bucket)
    return {
        "data": f"s3://{bucket}/root",
        "s3_endpoint": endpoint,
        "s3_access_key_id": MOTO_KEY,
        "s3_secret_access_key": MOTO_SECRET,
        "s3_region": REGION,
    } | cache


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout before the change")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="before/after alternately")
    parser.add_argument("--writers", default="1,16,64")
    parser.add_argument("--backends", default="local,moto")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from elacsym_sql.testing import s3servers

    print(f"median of {args.rounds} rounds of {args.seconds:.0f} s; load {os.getloadavg()[0]:.1f}")
    print(
        f"{'backend':8} {'writers':>7} {'code':7} {'writes/s':>9} {'CPU ms/write':>12} "
        f"{'PUTs/write':>10} {'acked':>6} {'40001':>5} {'other errors':>12}"
    )
    with tempfile.TemporaryDirectory() as tmp, s3servers.moto_server(Path(tmp) / "moto") as moto:
        for backend in args.backends.split(","):
            for writers in [int(w) for w in args.writers.split(",")]:
                runs: dict[str, list[dict]] = {"before": [], "after": []}
                for _ in range(args.rounds):
                    for label, code in (("before", args.before), ("after", REPO)):
                        settings = _root(tmp, backend, moto.endpoint)
                        r = _measure(code, settings, writers, args.seconds)
                        assert r["code"].startswith(str(code.resolve())), r["code"]
                        assert r["stored"] == r["acked"], r  # every acknowledged row, once
                        runs[label].append(r)
                for label, rs in runs.items():
                    rate = statistics.median(r["acked"] / r["seconds"] for r in rs)
                    cpu = statistics.median(1000 * r["cpu"] / max(r["acked"], 1) for r in rs)
                    puts = sum(r["puts"] for r in rs) / max(sum(r["acked"] for r in rs), 1)
                    acked = sum(r["acked"] for r in rs)
                    conflicts = sum(r["failed"].count("40001") for r in rs)
                    others = sum(len(r["failed"]) for r in rs) - conflicts
                    print(
                        f"{backend:8} {writers:>7} {label:7} {rate:>9.1f} {cpu:>12.2f} "
                        f"{puts:>10.3f} {acked:>6} {conflicts:>5} {others:>12}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
