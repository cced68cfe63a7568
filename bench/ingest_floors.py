"""Floors for bench/ingest.py: the same Arrow table written to local disk by other tools
("just write it"): DuckDB alone into a file database, pyarrow writing a zstd Parquet file, and
LanceDB's `table.add()` when lancedb is installed.
"""

from __future__ import annotations

import functools
import gc
import os
import shutil
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from common import DIM, package_version


def floor_duckdb(table: pa.Table, where: Path) -> float:
    path = where / f"{uuid.uuid4().hex}.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute(f"CREATE TABLE t (id BIGINT, text TEXT, embedding FLOAT[{DIM}])")
        con.register("tbl", table)
        start = time.perf_counter()
        con.execute("INSERT INTO t SELECT * FROM tbl")
        con.execute("CHECKPOINT")
        return time.perf_counter() - start
    finally:
        con.close()
        for p in where.glob(path.name + "*"):
            p.unlink()


def floor_parquet(table: pa.Table, where: Path) -> float:
    path = where / f"{uuid.uuid4().hex}.parquet"
    try:
        start = time.perf_counter()
        pq.write_table(table, path, compression="zstd")
        _fsync_tree(path)  # durable, like elacsym and DuckDB's CHECKPOINT
        return time.perf_counter() - start
    finally:
        path.unlink(missing_ok=True)


def floor_lancedb(table: pa.Table, where: Path, durable: bool = False) -> float:
    """LanceDB's `add()`; it calls no fsync (checked with strace), so `durable` adds one
    for every file and directory of the dataset afterwards, inside the timing."""
    import lancedb

    path = where / f"lance-{uuid.uuid4().hex}"
    try:
        db = lancedb.connect(str(path))
        tbl = db.create_table("v", schema=table.schema)
        start = time.perf_counter()
        tbl.add(table)
        if durable:
            _fsync_tree(path)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _fsync_tree(path: Path) -> None:
    """fsync `path` (a file, or a directory and everything below it) and its parent."""
    paths = [path, path.parent]
    if path.is_dir():
        paths += [Path(d) / n for d, dirs, files in os.walk(path) for n in (*dirs, *files)]
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def bench_floors(table: pa.Table, where: Path, repeat: int) -> dict[str, Any]:
    lance = package_version("lancedb") is not None
    durable_lance = functools.partial(floor_lancedb, durable=True)
    floors: dict[str, Callable[[pa.Table, Path], float] | None] = {
        "duckdb file: INSERT + CHECKPOINT": floor_duckdb,
        "pyarrow write_table zstd + fsync": floor_parquet,
        "lancedb table.add()": floor_lancedb if lance else None,
        "lancedb table.add() + fsync": durable_lance if lance else None,
    }
    where.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    for name, run in floors.items():
        if run is None:
            out[name] = {"skipped": "lancedb is not installed (try: pip install lancedb)"}
            print(f"  {name}: skipped (lancedb not installed)", flush=True)
            continue
        runs = []
        for _ in range(repeat):
            gc.collect()
            runs.append(run(table, where))
        seconds = statistics.median(runs)
        out[name] = {"seconds": seconds, "rows_per_s": table.num_rows / seconds, "runs": runs}
        print(f"  {name}: {', '.join(f'{s:.2f}' for s in runs)} s", flush=True)
    return out
