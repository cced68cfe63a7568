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
   section 1 at ef 64 with DuckDB set to one thread.
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
import cProfile
import functools
import importlib.metadata
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import hnswlib
import numpy as np
import pyarrow as pa

import elacsym_sql
import elacsym_sql.engine.search as engine_search
import elacsym_sql.engine.segments as engine_segments
import elacsym_sql.sql.database as sql_database
import elacsym_sql.sql.search_functions as sql_search
from elacsym_sql.index import DEFAULT_EF_CONSTRUCTION, DEFAULT_M, HnswIndex
from elacsym_sql.sql.views import ViewCatalog

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentences" / "minilm384.f16.npy"
RESULTS = Path(__file__).resolve().parent / "results" / "vector_sql.json"
METRIC = "cosine"
K = 10
DIM = 384
NAME = "v"
TARGET_QPS = 1_000
TARGET_RECALL = 0.98
WARMUP = 20
PROFILE_FILTERS = ("tag < 10", "tag < 1")
LATERAL_REPEAT = 3

Connection = elacsym_sql.Connection


# -- data and ground truth -----------------------------------------------------------------


def load_data(rows: int | None, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """(base, queries): the last n_queries rows are the queries, up to `rows` before them."""
    x = np.load(DATA, mmap_mode="r")
    if not 0 < n_queries < len(x):
        raise SystemExit(f"--queries {n_queries}: the data set has {len(x)} rows")
    available = len(x) - n_queries
    rows = available if rows is None else rows
    if not 0 < rows <= available:
        raise SystemExit(f"--rows {rows}: at most {available} rows are left besides the queries")
    base = np.ascontiguousarray(x[:rows], dtype=np.float32)
    queries = np.ascontiguousarray(x[len(x) - n_queries :], dtype=np.float32)
    return base, queries


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def exact_topk(base_unit: np.ndarray, queries_unit: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Ids (n_queries, K) of the K nearest by cosine distance, nearest first."""
    out = np.empty((len(queries_unit), K), dtype=np.int64)
    for start in range(0, len(queries_unit), 100):
        sims = queries_unit[start : start + 100] @ base_unit.T
        top = np.argpartition(-sims, K, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
        out[start : start + 100] = ids[np.take_along_axis(top, order, axis=1)]
    return out


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    """Recall@K of `found` against the first len(found) rows of `truth`."""
    truth = truth[: len(found)]
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, truth.tolist(), strict=True))
    return hits / truth.size


def arrow_rows(base: np.ndarray) -> pa.Table:
    ids = np.arange(len(base), dtype=np.int64)
    return pa.table(
        {
            "id": pa.array(ids),
            "tag": pa.array((ids % 100).astype(np.int32)),
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(base.reshape(-1)), DIM),
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


def raw_build(base: np.ndarray) -> tuple[hnswlib.Index, float]:
    start = time.perf_counter()
    index = hnswlib.Index(space=METRIC, dim=DIM)
    index.init_index(max_elements=len(base), M=DEFAULT_M, ef_construction=DEFAULT_EF_CONSTRUCTION)
    index.add_items(base)  # labels 0..n-1 = ids
    return index, time.perf_counter() - start


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
                "recall": recall(ids, truth),
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
            "vec": pa.FixedSizeListArray.from_arrays(pa.array(queries.reshape(-1)), DIM),
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
        best, result = float("inf"), []
        for _ in range(2):
            start = time.perf_counter()
            result = con.execute(sql).fetchall()
            best = min(best, time.perf_counter() - start)
        found: list[list[int]] = [[] for _ in range(len(queries))]
        for qid, rid in result:
            found[qid].append(rid)
        rows.append(
            {
                "ef": ef,
                "qps": len(queries) / best,
                "seconds": best,
                "recall": recall(found, truth),
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
                "recall": recall(found, truth),
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
        qps, found = 0.0, []
        for _ in range(2):
            start = time.perf_counter()
            found = [raw.knn_query(q, k=K)[0][0].tolist() for q in queries]
            qps = max(qps, len(queries) / (time.perf_counter() - start))
        batch_s = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            batch = raw.knn_query(queries, k=K)[0]
            batch_s = min(batch_s, time.perf_counter() - start)
        rows.append(
            {
                "ef": ef,
                "qps": qps,
                "recall": recall(found, truth),
                "batch_qps": len(queries) / batch_s,
                "batch_recall": recall(batch.tolist(), truth),
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


def bench_one_thread(
    con: Connection, params: list[list[float]], args: argparse.Namespace
) -> dict[str, Any]:
    """Section 1 at ef 64 with DuckDB set to one thread; the setting is restored after."""
    duck = con.database._duck
    threads = duck.execute("SELECT current_setting('threads')").fetchone()[0]
    duck.execute("SET threads = 1")
    try:
        sql = search_sql("id, _distance", 64)
        qps, out = run_single(con, sql, params, args.budget_s, args.min_queries)
    finally:
        duck.execute(f"SET threads = {int(threads)}")
    print(f"  DuckDB threads=1, ef 64: {qps:,.0f} q/s over {len(out)} queries", flush=True)
    return {"qps": qps, "queries": len(out), "default_threads": int(threads)}


# -- where the time goes -------------------------------------------------------------------


class PhaseTimer:
    """Wall time and calls of functions, by label, while `patched(...)` is active."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.missing: list[str] = []

    def wrap(self, fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1

        return timed

    def clear(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    @contextlib.contextmanager
    def patched(self, targets: list[tuple[Any, str, str]]) -> Iterator[None]:
        """Wrap each (module or class, attribute) for the duration; absent ones are skipped
        (the code measured may have renamed them) and listed in `missing`."""
        saved = []
        try:
            for owner, attr, label in targets:
                original = vars(owner).get(attr)
                if original is None:
                    self.missing.append(label)
                    continue
                saved.append((owner, attr, original))
                setattr(owner, attr, self.wrap(original, label))
            yield
        finally:
            for owner, attr, original in reversed(saved):
                setattr(owner, attr, original)


QUERY = "Database._query: refresh + DuckDB execute"
REFRESH = "router: views.refresh_one (strong read)"
REWRITE = "router: rewrite_search_calls (sqlglot tokenize)"
REFERENCED = "router: referenced_tables"
UDF = "UDF: SearchFunctions._vector_batch"
FILTER = "UDF: _filter_keys (sqlglot parse + DuckDB query)"
ENGINE = "UDF: engine vector_search"
SOURCES = "engine: _segment_sources"
TAIL = "engine: _tail_source"
HNSW = "engine: HnswIndex.search (hnswlib)"
MERGE = "engine: _merge (+ _gather rows)"
AS_LISTS = "UDF: _as_lists (Arrow list of structs)"
PHASES: list[tuple[Any, str, str]] = [
    (sql_database, "split_statements", "router: split_statements (sqlglot tokenize + parse)"),
    (sql_database, "rewrite_search_calls", REWRITE),
    (sql_database, "referenced_tables", REFERENCED),
    (ViewCatalog, "refresh_one", REFRESH),
    (sql_database.Database, "_query", QUERY),
    (sql_search.SearchFunctions, "_vector_batch", UDF),
    (sql_search.SearchFunctions, "_filter_keys", FILTER),
    (sql_search, "vector_search", ENGINE),
    (engine_search, "_segment_sources", SOURCES),
    (engine_search, "_tail_source", TAIL),
    (HnswIndex, "search", HNSW),
    (engine_search, "_merge", MERGE),
    (sql_search, "_as_lists", AS_LISTS),
]


def phase_breakdown(
    where: Path, params: list[list[float]], queries: np.ndarray
) -> dict[str, dict[str, float]]:
    """ms per query of each phase, at ef 64: one statement per query (`SELECT id, _distance`,
    unfiltered and filtered), and the LATERAL statement over all queries (per query of it)."""
    timer = PhaseTimer()
    single = [[p] for p in params]
    cases: list[tuple[str, str, list[list[list[float]] | None], int]] = [
        ("no filter", search_sql("id, _distance", 64), single, len(params)),
        *[
            (filt, search_sql("id, _distance", 64, filt), single, len(params))
            for filt in PROFILE_FILTERS
        ],
        ("LATERAL", lateral_sql(64), [None] * LATERAL_REPEAT, LATERAL_REPEAT * len(queries)),
    ]
    out: dict[str, dict[str, float]] = {}
    # Connect after patching: the search UDF is registered when the namespace is opened.
    with timer.patched(PHASES), contextlib.closing(connect(where, "phases")) as con:
        create_queries_table(con, queries)
        for name, sql, statements, n_queries in cases:
            for p in statements[:WARMUP]:
                con.execute(sql, p).fetchall()
            timer.clear()
            execute_s = fetch_s = 0.0
            for p in statements:
                start = time.perf_counter()
                cur = con.execute(sql, p)
                mid = time.perf_counter()
                cur.fetchall()
                execute_s += mid - start
                fetch_s += time.perf_counter() - mid
            out[name] = _phase_ms(timer, execute_s, fetch_s, n_queries)
            print(f"  phases, {name}: {out[name]}", flush=True)
    for label in timer.missing:
        print(f"  (not measured: {label} is not in the code measured)", flush=True)
    return out


def _phase_ms(timer: PhaseTimer, execute_s: float, fetch_s: float, n: int) -> dict[str, float]:
    ms = {
        "statement (con.execute + fetchall)": (execute_s + fetch_s) * 1e3 / n,
        "  con.execute()": execute_s * 1e3 / n,
        "  fetchall()": fetch_s * 1e3 / n,
    }
    for _, _, label in PHASES:
        if label not in timer.missing:
            ms[label] = timer.seconds[label] * 1e3 / n

    def get(label: str) -> float:
        return ms.get(label, 0.0)

    duck = get(QUERY) - get(REFRESH) - get(REWRITE) - get(REFERENCED)
    ms["derived: router outside _query (split, parse, bookkeeping)"] = ms["  con.execute()"] - get(
        QUERY
    )
    ms["derived: DuckDB cursor.execute (bind, plan, run the UDF)"] = duck
    ms["derived: DuckDB's own share (cursor.execute - UDF)"] = duck - get(UDF)
    ms["derived: engine rest (allowed mask, checks)"] = get(ENGINE) - sum(
        get(x) for x in (SOURCES, TAIL, HNSW, MERGE)
    )
    return ms


def profile_queries(where: Path, params: list[list[float]]) -> dict[str, Any]:
    """cProfile of single queries at ef 64, top 15 by cumulative time.

    DuckDB runs the UDF on the calling thread or on one of its workers; a second profiler
    covers the worker case (enabling the statement thread's own profiler there would replace
    it), and the two are merged."""
    main_thread = threading.get_ident()
    main, worker = cProfile.Profile(), cProfile.Profile()
    state = {"on": False, "calls": 0, "off_main": 0}
    owner = sql_search.SearchFunctions
    original = vars(owner).get("_vector_batch")

    @functools.wraps(original)
    def profiled(*args: Any, **kwargs: Any) -> Any:
        if not state["on"]:
            return original(*args, **kwargs)
        state["calls"] += 1
        if threading.get_ident() == main_thread:
            return original(*args, **kwargs)
        state["off_main"] += 1
        worker.enable()
        try:
            return original(*args, **kwargs)
        finally:
            worker.disable()

    sql = search_sql("id, _distance", 64)
    if original is not None:  # before connecting: the UDF is registered at open
        owner._vector_batch = profiled
    try:
        with contextlib.closing(connect(where, "profile")) as con:
            for p in params[:WARMUP]:
                con.execute(sql, [p]).fetchall()
            state["on"] = True
            main.enable()
            for p in params:
                con.execute(sql, [p]).fetchall()
            main.disable()
            state["on"] = False
    finally:
        if original is not None:
            owner._vector_batch = original
    stats = pstats.Stats(main)
    if state["off_main"]:
        stats.add(worker)
    stats.sort_stats("cumulative")
    top = []
    ours = Path(__file__).name  # the loop and the wrapper above are not the system measured
    keys = [k for k in stats.fcn_list if not k[0].endswith(ours)]  # type: ignore[attr-defined]
    for key in keys[:15]:
        _, ncalls, tottime, cumtime, _ = stats.stats[key]  # type: ignore[attr-defined]
        top.append(
            {
                "function": _function_name(key),
                "calls": ncalls,
                "own_ms_per_query": tottime * 1e3 / len(params),
                "cum_ms_per_query": cumtime * 1e3 / len(params),
            }
        )
    print(f"  profile: UDF calls {state['calls']}, on a DuckDB worker {state['off_main']}")
    return {"udf_calls": state["calls"], "udf_calls_off_main_thread": state["off_main"], "top": top}


def _function_name(key: tuple[str, int, str]) -> str:
    path, line, func = key
    if path == "~":
        return func
    for marker in ("site-packages/", "elacsym_sql/", "bench/"):
        if marker in path:
            keep = path.split(marker, 1)[1]
            path = keep if marker == "site-packages/" else marker + keep
            break
    return f"{path}:{line}({func})"


# -- machine and report --------------------------------------------------------------------


def code_state() -> dict[str, Any]:
    """Where the elacsym_sql measured lives, its commit and which of its files differ."""
    package = Path(elacsym_sql.__file__).resolve().parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=package, capture_output=True, text=True)
        return done.stdout if done.returncode == 0 else ""

    status = git("status", "--porcelain", "--", ".")
    return {
        "package": str(package),
        "commit": git("rev-parse", "--short", "HEAD").strip() or None,
        "modified": [line[3:] for line in status.splitlines()],
    }


def machine() -> dict:
    return {
        "cpus_usable": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
        "versions": {
            "elacsym_sql": elacsym_sql.__version__,
            "duckdb": duckdb.__version__,
            "numpy": np.__version__,
            "pyarrow": pa.__version__,
            "hnswlib": importlib.metadata.version("hnswlib"),
            "sqlglot": importlib.metadata.version("sqlglot"),
        },
        "code": code_state(),
    }


def render(result: dict) -> str:
    m, b = result["machine"], result["build"]
    v, code = m["versions"], m["code"]
    raw = {r["ef"]: r for r in result["raw"]}
    where = f"commit {code['commit']}" if code["commit"] else "not a git checkout"
    if code["modified"]:
        where += f" with changes to {', '.join(code['modified'])}"
    out = [
        f"machine: {m['cpus_usable']} cores, {m['platform']}, python {m['python']}; "
        f"load average {_loads(m['load_average_at_start'])} at start, "
        f"{_loads(m['load_average_at_end'])} at end",
        f"versions: duckdb {v['duckdb']}, hnswlib {v['hnswlib']}, sqlglot {v['sqlglot']}, "
        f"numpy {v['numpy']}, pyarrow {v['pyarrow']}",
        f"code: {code['package']} ({where})",
        f"data: {result['rows']:,} rows x {DIM}-d ({METRIC}), {result['queries']:,} held-out "
        f"queries (the last rows), k={K}; recall@10 against numpy exact search",
        "",
        f"ingest and build (M={DEFAULT_M}, ef_construction={DEFAULT_EF_CONSTRUCTION}, all cores)",
        f"  INSERT (one statement, Arrow) {b['insert_s']:.2f} s; engine.fold() {b['fold_s']:.2f} s"
        f", of which build_hnsw {b['fold_hnsw_s']:.2f} s; raw hnswlib build {b['raw_s']:.2f} s",
        f"  build_hnsw / raw {b['fold_hnsw_s'] / b['raw_s']:.2f}x, whole fold / raw "
        f"{b['fold_s'] / b['raw_s']:.2f}x; index {b['index_bytes'] / 2**20:.0f} MiB; first "
        f"query (loads the segment and its index) {b['first_query_s'] * 1e3:.0f} ms",
        "",
        "one statement per query, query vector as a list parameter, fetchall()",
        f"  {'ef':>4} | {'SELECT id, _distance':^29} | {'SELECT *':^29} | {'raw hnswlib':^14}",
        f"  {'':>4} | {'n':>5} {'q/s':>5} {'ms':>6} {'recall':>6} {'k':>3} |"
        f" {'n':>5} {'q/s':>5} {'ms':>6} {'recall':>6} {'k':>3} | {'q/s':>6} {'recall':>6}",
    ]
    for a, s in zip(result["single"], result["star"], strict=True):
        r = raw[a["ef"]]
        out.append(
            f"  {a['ef']:>4} | {a['queries']:>5} {a['qps']:>5.0f} {a['ms']:>6.2f}"
            f" {a['recall']:>6.4f} {_yes(a['always_k']):>3} | {s['queries']:>5} {s['qps']:>5.0f}"
            f" {s['ms']:>6.2f} {s['recall']:>6.4f} {_yes(s['always_k']):>3} |"
            f" {r['qps']:>6.0f} {r['recall']:>6.4f}"
        )
    one = result["one_thread"]
    out += [
        "  n: queries run (the first n; recall over them); k: every query returned 10 rows",
        f"  SELECT id, _distance at ef 64 with DuckDB SET threads = 1 (default "
        f"{one['default_threads']}): {one['qps']:.0f} q/s",
        "",
        f"batch: {result['queries']:,} queries in a temp table, one statement "
        "SELECT q.qid, r.id FROM queries q, LATERAL vector_search('v', q.vec, 10, ef := n) r",
        f"  {'ef':>4} | {'q/s':>7} {'s':>6} {'recall':>6} {'k':>3} | {'raw batch q/s':>13}"
        f" {'recall':>6} | {'ours/raw':>8}",
    ]
    for r in result["lateral"]:
        w = raw[r["ef"]]
        out.append(
            f"  {r['ef']:>4} | {r['qps']:>7.0f} {r['seconds']:>6.2f} {r['recall']:>6.4f}"
            f" {_yes(r['always_k']):>3} | {w['batch_qps']:>13.0f} {w['batch_recall']:>6.4f} |"
            f" {r['qps'] / w['batch_qps']:>8.2f}"
        )
    out += [
        "",
        f"filtered, ef {result['filter_ef']}, SELECT id, _distance, one statement per query"
        " (recall against exact search over the allowed rows)",
        f"  {'filter':>10} {'allowed':>7} {'rows':>7} | {'n':>5} {'q/s':>5} {'ms':>6}"
        f" {'recall':>6} {'10 rows':>7} {'allowed':>7}",
    ]
    for r in result["filtered"]:
        out.append(
            f"  {r['filter']:>10} {r['fraction']:>7.0%} {r['allowed_rows']:>7} |"
            f" {r['queries']:>5} {r['qps']:>5.0f} {r['ms']:>6.2f} {r['recall']:>6.4f}"
            f" {_yes(r['always_k']):>7} {_yes(r['all_allowed']):>7}"
        )
    out += ["", "floors (one statement or call at a time)"]
    for name, value in result["floors"].items():
        out.append(f"  {name:<50} {value:>7,.0f}/s {1e3 / value:>7.3f} ms")
    phases = result["phases"]
    cases = list(phases)
    out += [
        "",
        f"where a query's time goes, ef 64, ms per query: {result['profile_queries']} single"
        f" SELECT id, _distance statements, and {LATERAL_REPEAT} runs of the LATERAL statement"
        f" over {result['queries']:,} queries",
        "  by phase (timing wrappers, on a separate connection; indented rows are part of the"
        " row above them)",
        f"    {'':<62} {' '.join(f'{c:>10}' for c in cases)}",
    ]
    for label in phases[cases[0]]:
        values = " ".join(f"{phases[c].get(label, float('nan')):>10.3f}" for c in cases)
        out.append(f"    {_indent(label):<62} {values}")
    prof = result["profile"]
    out += [
        f"  cProfile, top 15 by cumulative time (UDF calls on a DuckDB worker thread: "
        f"{prof['udf_calls_off_main_thread']} of {prof['udf_calls']}, merged in)",
        "    (DuckDB's own methods are invisible to cProfile: their time counts as their"
        " caller's own time,",
        "    e.g. Database._query's is mostly cursor.execute; profiler overhead included)",
        f"    {'cum ms/q':>8} {'own ms/q':>8} {'calls':>6}  function",
    ]
    for r in prof["top"]:
        out.append(
            f"    {r['cum_ms_per_query']:>8.3f} {r['own_ms_per_query']:>8.3f}"
            f" {r['calls']:>6}  {r['function']}"
        )
    out += ["", "targets (issue 3)", *_targets(result, raw)]
    return "\n".join(out)


def _indent(label: str) -> str:
    """Phase labels nested as the calls are."""
    if label.startswith("engine:"):
        return "    " + label
    if label.startswith("UDF: ") and label != UDF:
        return "  " + label
    return label


def _targets(result: dict, raw: dict[int, dict]) -> list[str]:
    out = []
    best = max(
        (r for r in result["single"] if r["recall"] >= TARGET_RECALL),
        key=lambda r: r["qps"],
        default=None,
    )
    if best is None:
        ef_max = max(result["single"], key=lambda r: r["recall"])
        out.append(
            f"  single query, recall@10 >= {TARGET_RECALL} at >= {TARGET_QPS:,} q/s: NOT met "
            f"(no ef reaches recall {TARGET_RECALL}; best {ef_max['recall']:.4f} at ef "
            f"{ef_max['ef']}, {ef_max['qps']:.0f} q/s)"
        )
    else:
        met = best["qps"] >= TARGET_QPS
        out.append(
            f"  single query, recall@10 >= {TARGET_RECALL} at >= {TARGET_QPS:,} q/s: "
            f"{'met' if met else 'NOT met'} (ef {best['ef']}: {best['recall']:.4f} at "
            f"{best['qps']:.0f} q/s)"
        )
    for r in result["lateral"]:
        ratio = r["qps"] / raw[r["ef"]]["batch_qps"]
        out.append(
            f"  LATERAL >= 0.8x raw hnswlib batch q/s, ef {r['ef']}: "
            f"{'met' if ratio >= 0.8 else 'NOT met'} ({ratio:.2f}x)"
        )
    one_pct = next((r for r in result["filtered"] if r["fraction"] == 0.01), None)
    if one_pct is not None:
        met = one_pct["recall"] >= 0.95 and one_pct["always_k"] and one_pct["all_allowed"]
        out.append(
            f"  filtered 1%: recall@10 >= 0.95, always 10 rows: {'met' if met else 'NOT met'}"
            f" ({one_pct['recall']:.4f}, {_yes(one_pct['always_k'])})"
        )
    b = result["build"]
    ratio = b["fold_hnsw_s"] / b["raw_s"]
    out.append(
        f"  index build <= 1.2x raw hnswlib: {'met' if ratio <= 1.2 else 'NOT met'}"
        f" (build_hnsw inside fold {ratio:.2f}x; the whole fold {b['fold_s'] / b['raw_s']:.2f}x)"
    )
    return out


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def _loads(loads: tuple[float, ...]) -> str:
    return " ".join(f"{x:.2f}" for x in loads)


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
    base_unit, queries_unit = unit(base), unit(queries)
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
        raw, build["raw_s"] = raw_build(base)
        print(f"  raw hnswlib build: {build['raw_s']:.2f} s", flush=True)
        result["build"] = build
        with contextlib.closing(con):
            result["single"] = bench_single(con, params, truth, efs, "id, _distance", args)
            result["star"] = bench_single(con, params, truth, efs, "*", args)
            result["lateral"] = bench_lateral(con, queries, truth, efs)
            result["filtered"] = bench_filtered(con, base_unit, queries_unit, params, args)
            result["raw"] = bench_raw(raw, queries, truth, efs)
            result["floors"] = bench_floors(con, params, queries, args.floor_statements)
            result["one_thread"] = bench_one_thread(con, params, args)
        del raw
        sample = params[: result["profile_queries"]]
        result["phases"] = phase_breakdown(where, sample, queries)
        result["profile"] = profile_queries(where, sample)
    result["machine"]["load_average_at_end"] = os.getloadavg()
    result["seconds"] = time.perf_counter() - began
    text = render(result)
    print("\n" + text + f"\n\nwhole run {result['seconds']:.0f} s")
    result["report"] = text
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
