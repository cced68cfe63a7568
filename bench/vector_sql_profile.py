"""Where a vector_search statement's time goes, for bench/vector_sql.py: timing wrappers on
the router, DuckDB, the search UDF and the engine (ms per query by phase), and cProfile of
single queries (the statement's thread and DuckDB's worker thread, merged).

Both install their wrappers before the connection they measure is opened (the search UDF is
registered when a namespace is opened), so connections opened before never run instrumented
code.
"""

from __future__ import annotations

import contextlib
import cProfile
import functools
import pstats
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import elacsym_sql
import elacsym_sql.engine.vector_search as engine_search
import elacsym_sql.sql.database as sql_database
import elacsym_sql.sql.search.direct as sql_direct
import elacsym_sql.sql.search.search_functions as sql_search
import elacsym_sql.sql.search.search_runner as sql_runner
from elacsym_sql.index import HnswIndex
from elacsym_sql.sql.views import ViewCatalog

Connection = elacsym_sql.Connection
# (name, SQL, the parameters of each statement run, queries those statements answer)
Case = tuple[str, str, Sequence[list[Any] | None], int]
PROFILE_TOP = 15  # functions listed by profile_queries
LATERAL_REPEAT = 3  # runs of the LATERAL statement in the phase breakdown


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
FILTER = "runner: filter_keys (sqlglot parse + DuckDB query)"
ENGINE = "runner: engine vector_search"
SOURCES = "engine: _segment_sources (once per snapshot)"
TAIL = "engine: _tail_source (once per snapshot)"
HNSW = "engine: HnswIndex.search (hnswlib)"
MERGE = "engine: _merge (+ _gather rows)"
AS_LISTS = "UDF: _as_lists (Arrow list of structs)"
PHASES: list[tuple[Any, str, str]] = [
    (sql_database, "recognise", "router: direct path, recognise"),
    (sql_direct.DirectPath, "run", "direct path: snapshot + search"),
    (sql_database, "split_statements", "router: split_statements (sqlglot tokenize + parse)"),
    (sql_database, "rewrite_search_calls", REWRITE),
    (sql_database, "referenced_tables", REFERENCED),
    (ViewCatalog, "refresh_one", REFRESH),
    (sql_database.Database, "_query", QUERY),
    (sql_search.SearchFunctions, "_vector_batch", UDF),
    (sql_runner.SearchRunner, "filter_keys", FILTER),
    (sql_runner, "vector_search", ENGINE),
    (engine_search, "_segment_sources", SOURCES),
    (engine_search, "_tail_source", TAIL),
    (HnswIndex, "search", HNSW),
    (engine_search, "_merge", MERGE),
    (sql_search, "_as_lists", AS_LISTS),
]


def phase_breakdown(
    open_connection: Callable[[], Connection],
    prepare: Callable[[Connection], None],
    cases: list[Case],
    warmup: int,
) -> dict[str, dict[str, float]]:
    """ms per query of each phase in each case, on a connection from `open_connection`
    (opened with the timing wrappers in place, then `prepare`d); each case's first `warmup`
    statements run untimed first."""
    timer = PhaseTimer()
    out: dict[str, dict[str, float]] = {}
    # Connect after patching: the search UDF is registered when the namespace is opened.
    with timer.patched(PHASES), contextlib.closing(open_connection()) as con:
        prepare(con)
        for name, sql, statements, n_queries in cases:
            for p in statements[:warmup]:
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


def profile_queries(
    open_connection: Callable[[], Connection], sql: str, params: list[list[float]], warmup: int
) -> dict[str, Any]:
    """cProfile of one statement `sql` per parameter, on a connection from `open_connection`
    (after `warmup` unprofiled ones): the top PROFILE_TOP functions by cumulative time.

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

    if original is not None:  # before connecting: the UDF is registered at open
        owner._vector_batch = profiled
    try:
        with contextlib.closing(open_connection()) as con:
            for p in params[:warmup]:
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
    for key in keys[:PROFILE_TOP]:
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
