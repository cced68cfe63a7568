"""Ingest benchmark: how fast a bulk INSERT of 384-d rows becomes durable, visible and folded.

    python bench/ingest.py [--rows 100000] [--backends local,s3-moto,s3-seaweedfs]

For each backend, a single INSERT of `--rows` real sentence embeddings (id BIGINT, text TEXT,
embedding FLOAT[384]) into a fresh namespace, from an Arrow table in a Python variable and
from a Parquet file. Timed: the INSERT statement alone (it returns once its WAL object is in
storage, i.e. durable), then until a fresh second connection's `SELECT count(*)` sees the
rows (connect included), then the writer's fold of the WAL into a segment. For comparison,
on the same Arrow table and local disk: DuckDB alone into a file database, pyarrow writing
a zstd Parquet file, and LanceDB's `table.add()` when lancedb is installed. Last, the
storage requests one strong `SELECT count(*)` makes on an idle namespace, and right after
another connection wrote one row. Every timing is the median of `--repeat` runs.

Prints a table and writes bench/results/ingest.json. Connections run with `indexer=False`
so that no background fold competes with (or pre-empts) what is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from common import (
    DIM,
    REPO,
    RESULTS_DIR,
    arrow_vectors,
    as_float32,
    code_state,
    format_loads,
    machine_basics,
    median_by_key,
    package_version,
    sentence_texts,
    sentence_vectors,
    write_results,
)
from ingest_floors import bench_floors

import elacsym_sql
from elacsym_sql.testing.s3servers import S3Server, moto_server, seaweedfs_server, weed_binary

RESULTS = RESULTS_DIR / "ingest.json"
BACKENDS = ("local", "s3-moto", "s3-seaweedfs")
TARGET_ROWS_PER_S = 50_000  # on the local directory
CREATE = f"CREATE TABLE v (id BIGINT PRIMARY KEY, text TEXT, embedding FLOAT[{DIM}])"
COUNT = "SELECT count(*) FROM v"


# -- data ---------------------------------------------------------------------------------


def load_table(rows: int) -> pa.Table:
    """The first `rows` sentences with their embeddings (float16 on disk, float32 here)."""
    vectors = sentence_vectors()
    if rows > len(vectors):
        raise SystemExit(f"--rows {rows}: the data set has only {len(vectors)} rows")
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64)),
            "text": pa.array(sentence_texts(rows), pa.string()),
            "embedding": arrow_vectors(as_float32(vectors[:rows])),  # the only copy
        }
    )


# -- backends -----------------------------------------------------------------------------


@dataclass
class Backend:
    """Hands out fresh, isolated storage roots on one backend and removes them afterwards."""

    name: str
    scratch: Path
    server: S3Server | None = None

    @contextlib.contextmanager
    def fresh_root(self) -> Iterator[dict[str, Any]]:
        """`connect()` keyword arguments for a new empty root (own cache directory too)."""
        run = uuid.uuid4().hex[:12]
        local = self.scratch / run
        settings: dict[str, Any] = {"cache_dir": str(local / "cache"), "indexer": False}
        if self.server is None:
            settings["data"] = str(local / "data")
        else:
            settings["data"] = f"s3://{self.server.bucket}/{run}"
            settings.update(self.server.connect_kwargs())
        try:
            yield settings
        finally:
            if self.server is not None:
                self.server.delete_prefix(f"{run}/")
            shutil.rmtree(local, ignore_errors=True)


@contextlib.contextmanager
def open_backend(name: str, scratch: Path) -> Iterator[Backend]:
    where = scratch / name
    where.mkdir(parents=True)
    if name == "local":
        yield Backend(name, where)
    elif name == "s3-moto":
        with moto_server(where / "server", bucket="bench") as server:
            yield Backend(name, where, server)
    elif name == "s3-seaweedfs":
        with seaweedfs_server(where / "server", bucket="bench") as server:
            yield Backend(name, where, server)
    else:
        raise SystemExit(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})")


def connect(settings: dict[str, Any]) -> elacsym_sql.Connection:
    return elacsym_sql.connect(**settings)


# -- elacsym ingest -----------------------------------------------------------------------


def ingest_once(
    backend: Backend,
    table: pa.Table,
    source_sql: str,
    profile: cProfile.Profile | None = None,
) -> dict[str, float]:
    """One INSERT into a fresh namespace: seconds to durable, to visible, and to fold."""
    rows = table.num_rows
    with backend.fresh_root() as settings, connect(settings) as con:
        con.execute(CREATE)
        con.register("tbl", table)  # zero-copy; unused by the Parquet source
        gc.collect()
        if profile is not None:
            profile.enable()
        start = time.perf_counter()
        written = con.execute(f"INSERT INTO v {source_sql}").rowcount
        insert_s = time.perf_counter() - start
        if profile is not None:
            profile.disable()
        con.unregister("tbl")
        if written != rows:
            raise AssertionError(f"INSERT wrote {written} rows, not {rows}")

        start = time.perf_counter()
        with connect(settings) as reader:
            seen = reader.execute(COUNT).fetchone()[0]
            visible_s = time.perf_counter() - start
        if seen != rows:
            raise AssertionError(f"a second connection saw {seen} rows, not {rows}")

        start = time.perf_counter()
        folded = con.database.engine.fold("v")
        fold_s = time.perf_counter() - start
        if not folded or con.execute(COUNT).fetchone()[0] != rows:
            raise AssertionError("the fold did not produce a segment with every row")
    gc.collect()
    return {"insert_s": insert_s, "visible_s": visible_s, "fold_s": fold_s}


def bench_ingest(
    backend: Backend, table: pa.Table, parquet_path: Path, repeat: int
) -> dict[str, Any]:
    sources = {
        "arrow": "SELECT * FROM tbl",
        "parquet": f"SELECT * FROM read_parquet('{parquet_path}')",
    }
    out: dict[str, Any] = {}
    for source, sql in sources.items():
        runs = []
        for i in range(repeat):
            runs.append(ingest_once(backend, table, sql))
            r = runs[-1]
            print(
                f"  {backend.name:<13} {source:<8} run {i + 1}: insert {r['insert_s']:.2f} s, "
                f"visible {r['visible_s']:.2f} s, fold {r['fold_s']:.2f} s",
                flush=True,
            )
        out[source] = summarise(runs, table.num_rows)
    return out


def summarise(runs: list[dict[str, float]], rows: int) -> dict[str, Any]:
    median = median_by_key(runs)
    return {"median": median, "rows_per_s": rows / median["insert_s"], "runs": runs}


def profile_insert(backend: Backend, table: pa.Table, top: int = 15) -> list[dict[str, Any]]:
    """cProfile of one Arrow INSERT: the functions with the most time of their own."""
    profile = cProfile.Profile()
    ingest_once(backend, table, "SELECT * FROM tbl", profile)
    stats = pstats.Stats(profile, stream=io.StringIO())
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (path, line, func), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{_short(path)}:{line}({func})",
                "calls": calls,
                "own_s": own,
                "cumulative_s": cumulative,
            }
        )
    rows.sort(key=lambda r: r["own_s"], reverse=True)
    print(f"\ncProfile of one INSERT on {backend.name} ({total:.2f} s profiled), by own time:")
    print(f"  {'own s':>7} {'cum s':>7} {'calls':>6}  function")
    for r in rows[:top]:
        print(f"  {r['own_s']:7.3f} {r['cumulative_s']:7.3f} {r['calls']:6d}  {r['function']}")
    return rows[:top]


def _short(path: str) -> str:
    for marker in ("site-packages/", f"{Path(__file__).resolve().parents[1]}/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


# -- storage requests of a strong read ----------------------------------------------------


def bench_requests(backend: Backend, table: pa.Table, repeat: int) -> dict[str, Any]:
    """Requests of one `SELECT count(*)`: on an idle namespace, and after another
    connection wrote one row. Counted by the reader's store (every HTTP attempt on S3)."""
    with backend.fresh_root() as settings, connect(settings) as con:
        con.execute(CREATE)
        con.register("few", table.slice(0, 10))
        con.execute("INSERT INTO v SELECT * FROM few")
        con.unregister("few")
        con.database.engine.fold("v")
        con.execute(COUNT).fetchall()  # warm-up: views built, segment in the cache
        store = con.database.engine.store

        def count_requests(expected: int) -> dict[str, int]:
            before = Counter(store.request_counts)
            seen = con.execute(COUNT).fetchone()[0]
            if seen != expected:
                raise AssertionError(f"count(*) is {seen}, expected {expected}")
            return dict(store.request_counts - before)

        idle = [count_requests(10) for _ in range(repeat)]
        after_write = []
        with connect(settings) as other:
            for i in range(repeat):
                row = table.slice(10 + i, 1).to_pylist()[0]
                other.execute(
                    "INSERT INTO v VALUES (?, ?, ?)", [row["id"], row["text"], row["embedding"]]
                )
                after_write.append(count_requests(11 + i))
    return {
        "idle": {"median": _median_total(idle), "runs": idle},
        "after_write": {"median": _median_total(after_write), "runs": after_write},
    }


def _median_total(runs: list[dict[str, int]]) -> float:
    return statistics.median(sum(r.values()) for r in runs)


# -- machine and report -------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    try:
        weed = subprocess.run([weed_binary(), "version"], capture_output=True, text=True).stdout
        weed = weed.split()[2] if len(weed.split()) > 2 else weed.strip()
    except (RuntimeError, OSError):
        weed = None
    import boto3
    import moto

    return {
        **machine_basics(),
        "code": code_state(REPO, "elacsym_sql", "pyproject.toml"),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "load_average_at_start": os.getloadavg(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "versions": {
            "elacsym_sql": elacsym_sql.__version__,
            "duckdb": duckdb.__version__,
            "pyarrow": pa.__version__,
            "numpy": np.__version__,
            "boto3": boto3.__version__,
            "moto": moto.__version__,
            "seaweedfs": weed,
            # Not imported: lancedb warns about every later fork (the S3 servers are forks).
            "lancedb": package_version("lancedb"),
        },
    }


def report(result: dict[str, Any]) -> str:
    m, rows = result["machine"], result["rows"]
    v = m["versions"]
    lines = [
        f"machine: {m['cpus_usable']} cores ({m['cpu']}), {m['memory_gib']} GiB, {m['platform']}",
        f"load average (1, 5, 15 min) at start {format_loads(m['load_average_at_start'])}, "
        f"at end {format_loads(m['load_average_at_end'])}: other work on the machine skews timings",
        f"versions: python {m['python']}, duckdb {v['duckdb']}, pyarrow {v['pyarrow']}, "
        f"numpy {v['numpy']}, moto {v['moto']}, seaweedfs {v['seaweedfs']}, "
        f"lancedb {v['lancedb'] or 'not installed'}",
        f"code: commit {m['code']['commit']}"
        + (f" with changes to {', '.join(m['code']['modified'])}" if m["code"]["modified"] else ""),
        f"data: {rows:,} rows (id BIGINT, text TEXT, embedding FLOAT[{DIM}]), "
        f"Arrow {result['arrow_mb']:.0f} MB; median of {result['repeat']} runs",
        "",
        "elacsym INSERT of all rows in one statement, fresh namespace each run",
        f"{'backend':<14}{'source':<9}{'INSERT s':>9}{'rows/s':>10}{'visible s':>11}{'fold s':>8}",
    ]
    for backend, sources in result["ingest"].items():
        for source, r in sources.items():
            med = r["median"]
            lines.append(
                f"{backend:<14}{source:<9}{med['insert_s']:>9.2f}{r['rows_per_s']:>10,.0f}"
                f"{med['visible_s']:>11.2f}{med['fold_s']:>8.2f}"
            )
    lines += [
        "  INSERT: until acknowledged (WAL object durable); visible: connect + first",
        "  SELECT count(*) of a fresh second connection; fold: engine.fold() of the WAL",
        "",
        "floors on local disk, same Arrow table",
        f"{'system':<36}{'seconds':>9}{'rows/s':>11}",
    ]
    for name, r in result["floors"].items():
        if "skipped" in r:
            lines.append(f"{name:<36}  skipped: {r['skipped']}")
        else:
            lines.append(f"{name:<36}{r['seconds']:>9.2f}{r['rows_per_s']:>11,.0f}")
    lines.append("  duckdb: no PRIMARY KEY; lancedb's add() itself calls no fsync")
    lines += [
        "",
        "storage requests of one strong SELECT count(*) (median; kinds in the last run)",
        f"{'backend':<14}{'idle namespace':<24}{'after another connection wrote 1 row'}",
    ]
    for backend, r in result["requests"].items():
        idle, after = r["idle"], r["after_write"]
        lines.append(
            f"{backend:<14}{idle['median']:<4g}{_kinds(idle['runs'][-1]):<20}"
            f"{after['median']:<4g}{_kinds(after['runs'][-1])}"
        )
    local = result["ingest"].get("local", {}).get("arrow")
    if local is not None:
        ok = local["rows_per_s"] >= TARGET_ROWS_PER_S
        lines += [
            "",
            f"target >= {TARGET_ROWS_PER_S:,} rows/s on local (Arrow source): "
            f"{'met' if ok else 'NOT met'} ({local['rows_per_s']:,.0f} rows/s)",
        ]
    return "\n".join(lines)


def _kinds(counts: dict[str, int]) -> str:
    return " ".join(f"{k}={n}" for k, n in sorted(counts.items())) or "-"


# -- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile one local INSERT even when the target is met",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for name in backends:
        if name not in BACKENDS:
            parser.error(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})")
    # Nothing here may reach real AWS or read ~/.aws.
    os.environ.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.devnull)
    os.environ.update(AWS_SHARED_CREDENTIALS_FILE=os.devnull)

    table = load_table(args.rows)
    result: dict[str, Any] = {
        "machine": machine(),
        "rows": args.rows,
        "repeat": args.repeat,
        "arrow_mb": table.nbytes / 1e6,
        "ingest": {},
        "requests": {},
        "profile": None,
    }
    with tempfile.TemporaryDirectory(prefix="elacsym-bench-") as tmp:
        scratch = Path(tmp)
        parquet_path = scratch / "source.parquet"
        pq.write_table(table, parquet_path, compression="zstd")
        for name in backends:
            print(f"{name}:", flush=True)
            with open_backend(name, scratch) as backend:
                # First: small, and it warms up imports and DuckDB for the timed runs.
                result["requests"][name] = bench_requests(backend, table, args.repeat)
                result["ingest"][name] = bench_ingest(backend, table, parquet_path, args.repeat)
                local = result["ingest"][name]["arrow"]["rows_per_s"]
                if name == "local" and (args.profile or local < TARGET_ROWS_PER_S):
                    result["profile"] = profile_insert(backend, table)
        print("floors:", flush=True)
        result["floors"] = bench_floors(table, scratch / "floors", args.repeat)

    result["machine"]["load_average_at_end"] = os.getloadavg()
    text = report(result)
    print("\n" + text)
    result["report"] = text
    write_results(args.output, result)


if __name__ == "__main__":
    sys.exit(main())
