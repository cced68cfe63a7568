"""vector_search through SQL: queries/s and recall@10, one statement at a time and batched, on
real sentence embeddings, against raw hnswlib and DuckDB's own statement floor.

    python bench/vector_sql.py [--rows N] [--queries 1000]

Data: ../shared/data/sentences/minilm384.f16.npy (all-MiniLM-L6-v2, 384-d), cast to float32.
The last `--queries` rows are held out as queries; the `--rows` rows before them (default:
all of them) go into a local elacsym namespace (id BIGINT PRIMARY KEY, tag INTEGER = id % 100,
emb FLOAT[384]) WITH (metric = 'cosine'), in one INSERT from an Arrow table. The namespace is
folded into one segment with `engine.fold()`, which builds its HNSW index; the fold, and the
index build inside it, are timed against a raw hnswlib build (same M, ef_construction, data).
Recall@10 is always against numpy brute force over the same (allowed) vectors.

Sections (one statement per query through `con.execute(...).fetchall()`, the query vector a
Python list parameter, unless said otherwise):
1. `SELECT id, _distance FROM vector_search('v', ?, 10, ef := n)` at each ef.
2. the same with `SELECT *` (every column, the 384-d vector included).
3. one statement for all queries: a temp table and `LATERAL vector_search(...)`.
4. `filter := 'tag < t'` at 50%, 10%, 1% selectivity (ef `--filter-ef`): recall against the
   exact filtered answer, and whether every query got 10 rows, all of them allowed.
5. floors: raw hnswlib one query at a time and as one batch; a plain DuckDB connection's
   `SELECT 1` and `SELECT ?::FLOAT[384]` with a list parameter; the same two statements
   through elacsym's router; the engine's `vector_search()` called directly (no SQL); and
   section 1 at ef 64 as a subquery (never the direct path: DuckDB's macro and UDF).
A one-statement-per-query measurement runs the first queries in order until all are done or
`--budget-s` seconds have passed (but at least `--min-queries`); recall is over the queries
run. Then, on fresh connections to the same namespace opened after timing wrappers were
installed (so the measured connection above never runs instrumented code):
- a per-query breakdown by phase (router, view refresh, DuckDB, search UDF, engine) of
  `--profile-queries` single queries at ef 64, unfiltered and with `filter := 'tag < 10'`;
- cProfile of the same unfiltered queries, top 15 functions by cumulative time (the
  statement's thread, plus the DuckDB worker thread when the UDF runs on one, merged).

Prints tables and writes bench/results/vector_sql.json. `indexer=False`: no background fold.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import hnswlib
import numpy as np
import pyarrow as pa
from common import (
    DIM,
    METRIC,
    RESULTS_DIR,
    K,
    arrow_vectors,
    as_float32,
    best_time,
    code_state,
    machine_basics,
    package_version,
    raw_hnsw,
    recall_at_k,
    sentence_vectors,
    unit_rows,
    write_results,
)
from vector_sql_profile import LATERAL_REPEAT, Case, PhaseTimer, phase_breakdown, profile_queries
from vector_sql_report import render

import elacsym_sql
import elacsym_sql.engine.segments as engine_segments
import elacsym_sql.engine.vector_search as engine_search
from elacsym_sql.index import DEFAULT_EF_CONSTRUCTION, DEFAULT_M

RESULTS = RESULTS_DIR / "vector_sql.json"
NAME = "v"
WARMUP = 20
# One LATERAL statement over 1,000 queries takes ~0.1 s: the best of several runs, or a
# single hiccup of the 2-core machine decides the ratio to raw hnswlib.
LATERAL_RUNS = 7
PROFILE_FILTERS = ("tag < 10", "tag < 1")

Connection = elacsym_sql.Connection


# -- data and ground truth -----------------------------------------------------------------


def load_data(rows: int | None, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """(base, queries): the last n_queries rows are the queries, up to `rows` before them."""
    x = sentence_vectors()
    if not 0 < n_queries < len(x):
        raise SystemExit(f"--queries {n_queries}: the data set has {len(x)} rows")
    available = len(x) - n_queries
    rows = available if rows is None else rows
    if not 0 < rows <= available:
        raise SystemExit(f"--rows {rows}: at most {available} rows are left besides the queries")
    base = as_float32(x[:rows])
    queries = as_float32(x[len(x) - n_queries :])
    return base, queries


def exact_topk(base_unit: np.ndarray, queries_unit: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Ids (n_queries, K) of the K nearest by cosine distance, nearest first."""
    out = np.empty((len(queries_unit), K), dtype=np.int64)
    for start in range(0, len(queries_unit), 100):
        sims = queries_unit[start : start + 100] @ base_unit.T
        top = np.argpartition(-sims, K, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
        out[start : start + 100] = ids[np.take_along_axis(top, order, axis=1)]
    return out


def arrow_rows(base: np.ndarray) -> pa.Table:
    ids = np.arange(len(base), dtype=np.int64)
    return pa.table(
        {
            "id": pa.array(ids),
            "tag": pa.array((ids % 100).astype(np.int32)),
            "emb": arrow_vectors(base),
        }
    )


# -- the namespace and the builds ----------------------------------------------------------


def connect(where: Path, cache: str) -> Connection:
    """A connection to the bench's storage root; each connection gets its own disk cache."""
    return elacsym_sql.connect(
        str(where / "data"), cache_dir=str(where / f"cache-{cache}"), indexer=False
    )


def open_namespace(base: np.ndarray, where: Path) -> tuple[Connection, dict]:
    """A fresh local namespace holding `base`, folded into one indexed segment."""
    con = connect(where, "main")
    con.execute(
        f"CREATE TABLE {NAME} (id BIGINT PRIMARY KEY, tag INTEGER, emb FLOAT[{DIM}]) "
        f"WITH (metric = '{METRIC}')"
    )
    table = arrow_rows(base)
    con.register("incoming", table)
    start = time.perf_counter()
    con.execute(f"INSERT INTO {NAME} SELECT * FROM incoming")
    insert_s = time.perf_counter() - start
    con.unregister("incoming")
    del table
    timer = PhaseTimer()
    with timer.patched([(engine_segments, "build_hnsw", "hnsw")]):
        start = time.perf_counter()
        folded = con.database.engine.fold(NAME)
        fold_s = time.perf_counter() - start
    segments = con.database.engine.namespace(NAME).snapshot().manifest.segments
    assert folded and len(segments) == 1 and "hnsw:emb" in segments[0].indexes, segments
    # The first search loads the segment's rows and its index into memory: not timed below.
    start = time.perf_counter()
    con.execute(f"SELECT id FROM vector_search('{NAME}', ?, {K})", [base[0].tolist()]).fetchall()
    first_s = time.perf_counter() - start
    return con, {
        "insert_s": insert_s,
        "fold_s": fold_s,
        "fold_hnsw_s": timer.seconds["hnsw"],
        "index_bytes": segments[0].index_bytes,
        "first_query_s": first_s,
    }


# -- SQL measurements ----------------------------------------------------------------------


def search_sql(select: str, ef: int, filt: str | None = None) -> str:
    options = f", ef := {ef}" + (f", filter := '{filt}'" if filt else "")
    return f"SELECT {select} FROM vector_search('{NAME}', ?, {K}{options})"


def run_single(
    con: Connection, sql: str, params: list[list[float]], budget_s: float, min_queries: int
) -> tuple[float, list[list[Any]]]:
    """queries/s of one statement per query (after a warm-up), and the rows of each query run:
    all of `params`, or as many as `budget_s` allows (at least `min_queries`)."""
    for p in params[:WARMUP]:
        con.execute(sql, [p]).fetchall()
    out: list[list[Any]] = []
    start = time.perf_counter()
    deadline = start + budget_s
    for p in params:
        out.append(con.execute(sql, [p]).fetchall())
        if len(out) >= min_queries and time.perf_counter() > deadline:
            break
    return len(out) / (time.perf_counter() - start), out


def bench_single(
    con: Connection,
    params: list[list[float]],
    truth: np.ndarray,
    efs: list[int],
    select: str,
    args: argparse.Namespace,
) -> list[dict]:
    rows = []
    for ef in efs:
        sql = search_sql(select, ef)
        qps, out = run_single(con, sql, params, args.budget_s, args.min_queries)
        ids = [[r[0] for r in rs] for rs in out]
        rows.append(
            {
                "ef": ef,
                "queries": len(out),
                "qps": qps,
                "ms": 1e3 / qps,
                "recall": recall_at_k(ids, truth),
                "always_k": all(len(i) == K for i in ids),
            }
        )
        print(f"  {select}, ef {ef}: {rows[-1]}", flush=True)
    return rows


def create_queries_table(con: Connection, queries: np.ndarray) -> None:
    """TEMP TABLE queries (qid BIGINT, vec FLOAT[384])."""
    qtable = pa.table(
        {
            "qid": pa.array(np.arange(len(queries), dtype=np.int64)),
            "vec": arrow_vectors(queries),
        }
    )
    con.register("qarrow", qtable)
    con.execute(f"CREATE TEMP TABLE queries AS SELECT qid, vec::FLOAT[{DIM}] AS vec FROM qarrow")
    con.unregister("qarrow")


def lateral_sql(ef: int) -> str:
    return (
        f"SELECT q.qid, r.id FROM queries q, "
        f"LATERAL vector_search('{NAME}', q.vec, {K}, ef := {ef}) r"
    )


def bench_lateral(
    con: Connection, queries: np.ndarray, truth: np.ndarray, efs: list[int]
) -> list[dict]:
    create_queries_table(con, queries)
    rows = []
    for ef in efs:
        sql = lateral_sql(ef)
        best, result = best_time(lambda sql=sql: con.execute(sql).fetchall(), repeat=LATERAL_RUNS)
        found: list[list[int]] = [[] for _ in range(len(queries))]
        for qid, rid in result:
            found[qid].append(rid)
        rows.append(
            {
                "ef": ef,
                "qps": len(queries) / best,
                "seconds": best,
                "recall": recall_at_k(found, truth),
                "always_k": all(len(f) == K for f in found),
            }
        )
        print(f"  LATERAL, ef {ef}: {rows[-1]}", flush=True)
    con.execute("DROP TABLE queries")
    return rows


def bench_filtered(
    con: Connection,
    base_unit: np.ndarray,
    queries_unit: np.ndarray,
    params: list[list[float]],
    args: argparse.Namespace,
) -> list[dict]:
    ids = np.arange(len(base_unit))
    tags = ids % 100
    rows = []
    for below in (50, 10, 1):
        mask = tags < below
        truth = exact_topk(base_unit[mask], queries_unit, ids[mask])
        sql = search_sql("id, _distance", args.filter_ef, f"tag < {below}")
        qps, out = run_single(con, sql, params, args.budget_s, args.min_queries)
        found = [[r[0] for r in rs] for rs in out]
        rows.append(
            {
                "filter": f"tag < {below}",
                "fraction": below / 100,
                "allowed_rows": int(mask.sum()),
                "queries": len(out),
                "qps": qps,
                "ms": 1e3 / qps,
                "recall": recall_at_k(found, truth),
                "always_k": all(len(f) == K for f in found),
                "all_allowed": all(i % 100 < below for f in found for i in f),
            }
        )
        print(f"  filtered tag < {below}: {rows[-1]}", flush=True)
    return rows


# -- floors --------------------------------------------------------------------------------


def per_second(run: Callable[[], Any], n: int) -> float:
    for _ in range(WARMUP):
        run()
    start = time.perf_counter()
    for _ in range(n):
        run()
    return n / (time.perf_counter() - start)


def bench_raw(
    raw: hnswlib.Index, queries: np.ndarray, truth: np.ndarray, efs: list[int]
) -> list[dict]:
    rows = []
    for ef in efs:
        raw.set_ef(ef)
        single_s, found = best_time(
            lambda: [raw.knn_query(q, k=K)[0][0].tolist() for q in queries], repeat=2
        )
        batch_s, batch = best_time(lambda: raw.knn_query(queries, k=K)[0], repeat=2)
        rows.append(
            {
                "ef": ef,
                "qps": len(queries) / single_s,
                "recall": recall_at_k(found, truth),
                "batch_qps": len(queries) / batch_s,
                "batch_recall": recall_at_k(batch.tolist(), truth),
            }
        )
        print(f"  raw hnswlib, ef {ef}: {rows[-1]}", flush=True)
    return rows


def bench_floors(
    con: Connection, params: list[list[float]], queries: np.ndarray, n: int
) -> dict[str, float]:
    """Statements (or calls) per second of what one search statement is built on."""
    duck = duckdb.connect()
    vector_param = f"SELECT ?::FLOAT[{DIM}]"
    p = params[0]
    out = {
        "duckdb SELECT 1": per_second(lambda: duck.execute("SELECT 1").fetchall(), n),
        f"duckdb {vector_param} (list param)": per_second(
            lambda: duck.execute(vector_param, [p]).fetchall(), n
        ),
        "elacsym SELECT 1": per_second(lambda: con.execute("SELECT 1").fetchall(), n),
        f"elacsym {vector_param} (list param)": per_second(
            lambda: con.execute(vector_param, [p]).fetchall(), n
        ),
    }
    duck.close()
    db = con.database
    snap = db.views.snapshot_of(NAME)
    column = engine_search.vector_column(snap, None)
    calls = iter(range(10**9))

    def direct() -> None:
        i = next(calls) % len(queries)
        engine_search.vector_search(snap, db.engine.files, column, queries[i : i + 1], K, ef=64)

    out["engine vector_search() direct, ef 64 (no SQL)"] = per_second(direct, min(n, len(queries)))
    for name, value in out.items():
        print(f"  {name}: {value:,.0f}/s", flush=True)
    return out


def bench_general_path(
    con: Connection, params: list[list[float]], args: argparse.Namespace
) -> dict[str, Any]:
    """Section 1 at ef 64 wrapped in a subquery, which never takes the direct path: the
    same search through DuckDB's table macro and UDF."""
    sql = f"SELECT * FROM ({search_sql('id, _distance', 64)})"
    qps, out = run_single(con, sql, params, args.budget_s, args.min_queries)
    print(f"  through DuckDB (subquery), ef 64: {qps:,.0f} q/s over {len(out)} queries", flush=True)
    return {"qps": qps, "queries": len(out)}


# -- where the time goes -------------------------------------------------------------------


def bench_phases(
    where: Path, params: list[list[float]], queries: np.ndarray
) -> dict[str, dict[str, float]]:
    """ms per query of each phase, at ef 64: one statement per query (`SELECT id, _distance`,
    unfiltered and filtered), and the LATERAL statement over all queries (per query of it)."""
    single = [[p] for p in params]
    cases: list[Case] = [
        ("no filter", search_sql("id, _distance", 64), single, len(params)),
        *[
            (filt, search_sql("id, _distance", 64, filt), single, len(params))
            for filt in PROFILE_FILTERS
        ],
        ("LATERAL", lateral_sql(64), [None] * LATERAL_REPEAT, LATERAL_REPEAT * len(queries)),
    ]
    return phase_breakdown(
        lambda: connect(where, "phases"),
        lambda con: create_queries_table(con, queries),
        cases,
        WARMUP,
    )


# -- machine -------------------------------------------------------------------------------


def machine() -> dict:
    package = Path(elacsym_sql.__file__).resolve().parent
    return {
        **machine_basics(),
        "load_average_at_start": os.getloadavg(),
        "versions": {
            "elacsym_sql": elacsym_sql.__version__,
            "duckdb": duckdb.__version__,
            "numpy": np.__version__,
            "pyarrow": pa.__version__,
            "hnswlib": package_version("hnswlib"),
            "sqlglot": package_version("sqlglot"),
        },
        # Where the elacsym_sql measured lives, its commit and which of its files differ.
        "code": {"package": str(package), **code_state(package, ".")},
    }


# -- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help="default: all but the queries")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--efs", default="32,64,128")
    parser.add_argument("--filter-ef", type=int, default=64)
    parser.add_argument(
        "--budget-s", type=float, default=10.0, help="per one-statement-per-query measurement"
    )
    parser.add_argument("--min-queries", type=int, default=200)
    parser.add_argument("--floor-statements", type=int, default=2000)
    parser.add_argument("--profile-queries", type=int, default=200)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    efs = [int(e) for e in args.efs.split(",")]
    began = time.perf_counter()

    base, queries = load_data(args.rows, args.queries)
    print(f"data: {base.shape} indexed, {queries.shape} queries", flush=True)
    base_unit, queries_unit = unit_rows(base), unit_rows(queries)
    truth = exact_topk(base_unit, queries_unit, np.arange(len(base)))
    params = queries.tolist()
    result: dict[str, Any] = {
        "machine": machine(),
        "rows": len(base),
        "queries": len(queries),
        "filter_ef": args.filter_ef,
        "budget_s": args.budget_s,
        "profile_queries": min(args.profile_queries, len(queries)),
    }
    with tempfile.TemporaryDirectory(prefix="elacsym-vector-sql-") as tmp:
        where = Path(tmp)
        con, build = open_namespace(base, where)
        print(f"  namespace: {build}", flush=True)
        build["raw_s"], raw = best_time(  # labels 0..n-1 = ids
            lambda: raw_hnsw(base, DEFAULT_M, DEFAULT_EF_CONSTRUCTION)
        )
        print(f"  raw hnswlib build: {build['raw_s']:.2f} s", flush=True)
        result["build"] = build
        with contextlib.closing(con):
            result["single"] = bench_single(con, params, truth, efs, "id, _distance", args)
            result["star"] = bench_single(con, params, truth, efs, "*", args)
            result["lateral"] = bench_lateral(con, queries, truth, efs)
            result["filtered"] = bench_filtered(con, base_unit, queries_unit, params, args)
            result["raw"] = bench_raw(raw, queries, truth, efs)
            result["floors"] = bench_floors(con, params, queries, args.floor_statements)
            result["general_path"] = bench_general_path(con, params, args)
        del raw
        sample = params[: result["profile_queries"]]
        result["phases"] = bench_phases(where, sample, queries)
        result["profile"] = profile_queries(
            lambda: connect(where, "profile"), search_sql("id, _distance", 64), sample, WARMUP
        )
    result["machine"]["load_average_at_end"] = os.getloadavg()
    result["seconds"] = time.perf_counter() - began
    text = render(result)
    print("\n" + text + f"\n\nwhole run {result['seconds']:.0f} s")
    result["report"] = text
    write_results(args.output, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
