"""Every vector index kind against raw hnswlib and LanceDB on the same data (issue 12,
"measure and note"): recall@10 against queries/s curves, build time, bytes per vector in
memory, on disk and in the bucket.

    python bench/index_kinds.py [--rows 0 | --rows 1000000] [--queries N]
        [--exact-queries N] [--held-out pydoc:numpy] [--skip SYSTEM ...] [--keep]
        [--replot]

Data (cosine, 384 dimensions, all-MiniLM-L6-v2 sentence vectors):
- `--rows 0` (default): bench/recall_default.py's split: every sentence vector but those of
  the held-out source (127.8k for pydoc:numpy) is the corpus; `--queries` random rows of the
  held-out source are the queries (1,000 by default); truth by exact search.
- `--rows 1000000`: the million made as bench/hybrid_scale.py makes it (common.scaled_vectors:
  copy 0 is the base rows, copy c >= 1 of row i is its vector plus Gaussian noise sigma 0.03
  per dimension, renormalised), the base being the corpus of the split above (the held-out
  source left out, so that no query nor its noisy copies are in the data); the queries are
  the held-out real queries (200 by default); truth by exact search in query batches.
Systems, each built on the same corpus; queries one at a time, embedded, single-threaded
query loop, BLAS capped at one thread:
- engine hnsw / engine clustered: the engine (EngineApi) over a local directory, namespace
  option vector_index forced to the kind (decision 0081); one bulk upsert, one fold (the
  build: HNSW or k-means + codes, and the calibration); a curve over `ef :=` (nprobe for the
  clustered kind) and the default point (recall_target 0.97, decision 0063).
- engine exact: `exact := true` on the hnsw namespace (`--exact-queries` of the queries).
- raw hnswlib: the engine's M and ef_construction, built on every core, an ef sweep.
- LanceDB IVF_PQ and IVF_HNSW_SQ (cosine, num_partitions sqrt(rows) = LanceDB's documented
  default; IVF_PQ with dim/8 = 48 sub-vectors, not its default dim/16, whose recall stopped
  near 0.66 with refine_factor 10 on 20k of these rows; IVF_HNSW_SQ with the engine's M and
  ef_construction), when lancedb is installed (it is no project dependency), through its
  async API: nprobes sweeps (shares of the partitions), and refine_factor for IVF_PQ.
Warm: each system's queries run once untimed at its widest sweep point first. q/s: by the
wall clock and by this process's CPU time (all its threads: what an idle machine's clock
would show for a single-threaded search; LanceDB's and the exact search's own threads count).
Bytes per vector: memory = what the engine's memory cache holds after the sweep (decoded
rows and index), hnswlib's index size, and for every system the growth of this process's RSS
over its serving (rough: allocators keep freed memory); disk = the namespace's segment
Parquet + index files in the local store (= the bucket: the store is a local directory, an
S3 bucket would hold the same objects), hnswlib's saved file, LanceDB's table directory.
Prints a markdown table and the load average, writes bench/results/index_kinds-<rows>.json
(after each system) and a plot (matplotlib, when installed). A long run can be done in parts:
`--skip` some systems, `--keep` the skipped ones' results already in the JSON; `--replot`
prints the table and draws the plot of the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
from common import (
    REPO,
    RESULTS_DIR,
    SCALE_CHUNK,
    arrow_vectors,
    code_state,
    format_loads,
    machine_basics,
    package_version,
    raw_hnsw,
    recall_at_k,
    scaled_vectors,
    vector_engine,
    write_results,
)
from index_kinds_report import replot, report, table
from recall_default import per_second, split, truth

from elacsym_sql.index import DEFAULT_EF_CONSTRUCTION, DEFAULT_M
from elacsym_sql.index.calibrate import EF_LADDER
from elacsym_sql.index.threads import limit_blas_threads
from elacsym_sql.schema import DEFAULT_RECALL_TARGET, Options

K = 10
NPROBES = (8, 16, 32, 64, 96, 128, 192, 256)  # of the clustered index (512 clusters at 133k)
# LanceDB's nprobes: these shares of its partitions; refine_factor: rerank that many times
# K candidates by their full vectors (IVF_PQ)
LANCE_PROBE_SHARES = (0.02, 0.05, 0.1, 0.2, 0.4)
LANCE_REFINE = (None, 10, 40)
TRUTH_BATCH = 25  # queries per exact search of the million (25 x 1M scores: 100 MB)
WARM_QUERIES = 200  # untimed queries at a system's widest point before its sweep

T = TypeVar("T")
Search = Callable[[np.ndarray], list[int]]
Point = dict[str, Any]


# -- data ---------------------------------------------------------------------------------


def dataset(rows: int, held_out: str, n_queries: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(corpus, queries, how the corpus was made)."""
    base, queries = split(held_out, n_queries)
    if rows == 0:
        return base, queries, f"sentence vectors without {held_out} ({len(base)} rows)"
    made = (
        f"{rows} rows: the {len(base)} sentence vectors without {held_out} and noisy copies "
        "of them (common.scaled_vectors, as bench/hybrid_scale.py)"
    )
    return scaled_vectors(base, rows), queries, made


def exact_truth(corpus: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The true K nearest ids of each query (recall_default.truth, in batches of queries)."""
    parts = [
        truth(corpus, queries[i : i + TRUTH_BATCH]) for i in range(0, len(queries), TRUTH_BATCH)
    ]
    return np.vstack(parts)


# -- measuring ----------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def settled_rss() -> int:
    """RSS after collecting garbage and handing Arrow's unused memory back."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    return rss_bytes()


def tree_bytes(path: str | Path) -> int:
    """Bytes of the files under `path`."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def point(label: str, search: Search, queries: np.ndarray, want: np.ndarray, **knobs: Any) -> Point:
    """recall@10 and q/s of `search` over `queries`, one at a time."""
    load = os.getloadavg()
    qps, cpu_qps, found = per_second(search, queries)
    return {
        "label": label,
        "recall": recall_at_k(found, want),
        "qps": qps,
        "cpu_qps": cpu_qps,
        "queries": len(queries),
        "load": load,
        **knobs,
    }


def timed_build(build: Callable[[], T]) -> tuple[dict[str, Any], T]:
    """Wall and CPU seconds (all of this process's threads: less swayed by other processes
    than the wall clock) of `build`, the load average after it, and its result."""
    start, cpu = time.perf_counter(), time.process_time()
    out = build()
    facts = {
        "build_s": time.perf_counter() - start,
        "build_cpu_s": time.process_time() - cpu,
        "build_load": os.getloadavg(),
    }
    return facts, out


def warm(search: Search, queries: np.ndarray) -> None:
    for q in queries[:WARM_QUERIES]:
        search(q)


def system(name: str, points: list[Point], **facts: Any) -> dict[str, Any]:
    print(f"  {name}: done, load {format_loads(os.getloadavg())}", flush=True)
    return {"system": name, "points": points, **facts}


# -- the engine ---------------------------------------------------------------------------


def engine_kind(
    kind: str,
    corpus: np.ndarray,
    queries: np.ndarray,
    want: np.ndarray,
    exact_n: int,
    fold_rows: int | None = None,
) -> list[dict[str, Any]]:
    """The engine with vector_index forced to `kind`: its system (and with "hnsw" the exact
    search's too). `fold_rows`: upsert and fold that many rows at a time (a segment each, as
    bench/hybrid_scale.py builds its million); default: one upsert, one fold, one segment."""
    rows = len(corpus)
    memory = max(2 << 30, 4 * corpus.nbytes)  # warm: the segment and its index stay in memory
    api, _ = vector_engine(
        corpus[:0],
        f"bench-kinds-{kind}-",
        indexer=False,
        options=Options(vector_index=kind),
        memory_cache_bytes=memory,
    )
    engine = api.engine
    load_s, build = load_and_fold(api, corpus, fold_rows or rows)
    segments = engine.namespace("s").snapshot().manifest.segments
    index = {"hnsw": "hnsw:v", "clustered": "ivf:v"}[kind]
    for segment in segments:
        assert index in segment.indexes, f"a segment has {sorted(segment.indexes)}, not {index}"
    data = Path(engine.settings.data)
    disk = sum((data / key).stat().st_size for seg in segments for key in seg.keys("s"))
    segment_file = sum((data / seg.data_key("s")).stat().st_size for seg in segments)
    engine.close()
    del api, engine
    rss_before = settled_rss()
    api = reopen(data, memory)

    def search(**options: Any) -> Search:
        def run(q: np.ndarray) -> list[int]:
            return api.vector_search("s", q, K, **options).rows.column("id").to_pylist()

        return run

    sweep = EF_LADDER if kind == "hnsw" else tuple(p for p in NPROBES if p <= rows)
    knob = "ef" if kind == "hnsw" else "nprobe"
    warm(search(ef=max(sweep)), queries)
    points = [point(f"default (target {DEFAULT_RECALL_TARGET})", search(), queries, want)]
    points += [point(f"{knob} {v}", search(ef=v), queries, want, **{knob: v}) for v in sweep]
    held = api.engine.files.memory._bytes
    rss = settled_rss() - rss_before
    out = [
        system(
            f"engine {kind}",
            points,
            **build,
            load_s=load_s,
            build_note=f"fold: index build + calibration, {len(segments)} segment(s)",
            segments=[seg.rows for seg in segments],
            curve=[seg.ef_recall[index] for seg in segments],
            memory_bpv=held / rows,
            rss_bpv=rss / rows,
            disk_bpv=disk / rows,
            bucket_bpv=disk / rows,
            index_bytes=sum(seg.index_bytes for seg in segments),
            segment_bytes=segment_file,
        )
    ]
    if kind == "hnsw":
        few = queries[:exact_n]
        exact = [point("exact := true", search(exact=True), few, want[:exact_n], exact=True)]
        out.append(
            system(
                "engine exact", exact, disk_bpv=segment_file / rows, bucket_bpv=segment_file / rows
            )
        )
    api.engine.close()
    shutil.rmtree(data.parent, ignore_errors=True)
    return out


def load_and_fold(api: Any, corpus: np.ndarray, step: int) -> tuple[float, dict[str, Any]]:
    """Upsert `corpus` (ids 0..n-1) `step` rows at a time (in chunks of at most SCALE_CHUNK),
    folding after each step: the upserts' seconds and the folds' timed_build facts, summed."""
    load_s, build = 0.0, {"build_s": 0.0, "build_cpu_s": 0.0}
    for first in range(0, len(corpus), step):
        for at in range(first, min(len(corpus), first + step), SCALE_CHUNK):
            part = corpus[at : min(at + SCALE_CHUNK, first + step)]
            start = time.perf_counter()
            api.upsert(
                "s", pa.table({"id": np.arange(at, at + len(part)), "v": arrow_vectors(part)})
            )
            load_s += time.perf_counter() - start
        facts, _ = timed_build(partial(api.engine.fold, "s"))
        build = {k: build[k] + facts[k] for k in build} | {"build_load": facts["build_load"]}
    return load_s, build


def reopen(data: Path, memory: int) -> Any:
    """A new engine over the root at `data` (its disk cache beside it): what serves the
    namespace after a restart, its memory holding only what the searches load."""
    from elacsym_sql.config import Settings
    from elacsym_sql.engine import Engine, EngineApi

    settings = Settings(
        data=str(data),
        cache_dir=str(data.parent / "cache"),
        indexer=False,
        memory_cache_bytes=memory,
    )
    return EngineApi(Engine(settings))


# -- raw hnswlib --------------------------------------------------------------------------


def hnswlib_system(corpus: np.ndarray, queries: np.ndarray, want: np.ndarray) -> dict[str, Any]:
    rows = len(corpus)
    rss_before = settled_rss()
    build, index = timed_build(lambda: raw_hnsw(corpus, DEFAULT_M, DEFAULT_EF_CONSTRUCTION))
    rss = settled_rss() - rss_before
    with tempfile.TemporaryDirectory(prefix="bench-kinds-hnswlib-") as work:
        path = f"{work}/index.bin"
        index.save_index(path)
        disk = os.path.getsize(path)

    def search(q: np.ndarray) -> list[int]:
        return index.knn_query(q, K, num_threads=1)[0][0].tolist()

    index.set_ef(max(EF_LADDER))
    warm(search, queries)
    points = []
    for ef in EF_LADDER:
        index.set_ef(ef)
        points.append(point(f"ef {ef}", search, queries, want, ef=ef))
    return system(
        "raw hnswlib",
        points,
        **build,
        build_note=f"M {DEFAULT_M}, ef_construction {DEFAULT_EF_CONSTRUCTION}, every core",
        memory_bpv=index.index_file_size() / rows,
        rss_bpv=rss / rows,
        disk_bpv=disk / rows,
    )


# -- LanceDB ------------------------------------------------------------------------------


def lance_systems(corpus: np.ndarray, queries: np.ndarray, want: np.ndarray) -> list[dict]:
    """LanceDB's IVF_PQ and IVF_HNSW_SQ; one "not installed" row without lancedb. Imported
    here only: importing lancedb makes every later fork of this process warn. Its async API
    on one event loop: the sync one costs ~8 hops to its background loop a query (~2x the
    time of a 20k-row search here)."""
    if package_version("lancedb") is None:
        return [system("LanceDB", [], note="not installed")]
    os.environ.setdefault("LANCEDB_LOG", "error")  # not a warning per query (_distance)
    import lancedb
    from lancedb.index import HnswSq, IvfPq

    rows, dim = corpus.shape
    partitions = round(rows**0.5)
    nprobes = sorted({max(1, round(share * partitions)) for share in LANCE_PROBE_SHARES})
    configs: dict[str, tuple[Any, list[dict[str, Any]]]] = {
        "IVF_PQ": (
            IvfPq(distance_type="cosine", num_partitions=partitions, num_sub_vectors=dim // 8),
            [{"nprobes": n, "refine_factor": r} for r in LANCE_REFINE for n in nprobes],
        ),
        "IVF_HNSW_SQ": (
            HnswSq(
                distance_type="cosine",
                num_partitions=partitions,
                m=DEFAULT_M,
                ef_construction=DEFAULT_EF_CONSTRUCTION,
            ),
            [{"nprobes": n} for n in nprobes],
        ),
    }
    work = tempfile.mkdtemp(prefix="bench-kinds-lance-")
    loop = asyncio.new_event_loop()
    db = loop.run_until_complete(lancedb.connect_async(work))
    data = pa.table({"id": np.arange(rows), "vector": arrow_vectors(corpus)})
    out = []
    for name, (config, sweep) in configs.items():
        rss_before = settled_rss()
        start = time.perf_counter()
        table = loop.run_until_complete(db.create_table(name.lower(), data))
        load_s = time.perf_counter() - start
        indexing = table.create_index("vector", config=config)  # runs when awaited
        build, _ = timed_build(partial(loop.run_until_complete, indexing))

        def search(nprobes: int, refine_factor: int | None = None, table: Any = table) -> Search:
            def run(q: np.ndarray) -> list[int]:
                query = table.vector_search(q).distance_type("cosine").nprobes(nprobes)
                if refine_factor:
                    query = query.refine_factor(refine_factor)
                found = loop.run_until_complete(query.limit(K).select(["id"]).to_arrow())
                return found.column("id").to_pylist()

            return run

        warm(search(**sweep[-1]), queries)
        points = [point(lance_label(s), search(**s), queries, want, **s) for s in sweep]
        rss = settled_rss() - rss_before
        disk = tree_bytes(Path(work) / f"{name.lower()}.lance")
        note = f"create_index, {partitions} partitions"
        if name == "IVF_PQ":
            note += f", {dim // 8} sub-vectors of 8 bits"
        out.append(
            system(
                f"LanceDB {name}",
                points,
                **build,
                load_s=load_s,
                build_note=note,
                rss_bpv=rss / rows,
                disk_bpv=disk / rows,
            )
        )
        del table
    loop.close()
    shutil.rmtree(work, ignore_errors=True)
    return out


def lance_label(knobs: dict[str, Any]) -> str:
    refine = knobs.get("refine_factor")
    return f"nprobes {knobs['nprobes']}" + (f", refine {refine}" if refine else "")


def run_of(s: dict[str, Any]) -> str:
    """The --skip name of the run that measured system `s`."""
    names = {"engine hnsw": "hnsw", "engine exact": "hnsw", "engine clustered": "clustered"}
    return (
        s.get("run")
        or names.get(s["system"])
        or ("hnswlib" if s["system"] == "raw hnswlib" else "lance")
    )


def kept(earlier: dict[str, Any], out: dict[str, Any], skip: Sequence[str]) -> list[dict]:
    """The systems of an earlier run on the same data that this run skips (a long run done
    in parts: each system's numbers carry their own load and time)."""
    same = ("data", "rows", "queries", "held_out")
    if any(earlier[k] != out[k] for k in same):
        raise SystemExit(f"--keep: the JSON is of other data ({[earlier[k] for k in same]})")
    systems = [{**s, "run": run_of(s)} for s in earlier["systems"] if run_of(s) in skip]
    print(f"kept from the JSON: {', '.join(s['system'] for s in systems) or 'nothing'}")
    return systems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=0, help="0: the 133k real split")
    parser.add_argument("--queries", type=int, help="default 1000 (133k), 200 (million)")
    parser.add_argument("--exact-queries", type=int, help="default 200 (133k), 50 (million)")
    parser.add_argument("--held-out", default="pydoc:numpy")
    parser.add_argument("--skip", nargs="*", default=[], help="hnsw clustered hnswlib lance")
    parser.add_argument("--replot", action="store_true", help="table and plot of the JSON")
    parser.add_argument("--fold-rows", type=int, help="fold every N rows (default: once)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the skipped systems' results of the JSON"
    )
    args = parser.parse_args()
    if args.replot:
        replot(args.rows)
        return
    limit_blas_threads(1)
    n_queries = args.queries or (1000 if args.rows == 0 else 200)
    exact_n = args.exact_queries or (200 if args.rows == 0 else 50)
    corpus, queries, made = dataset(args.rows, args.held_out, n_queries)
    start = time.perf_counter()
    want = exact_truth(corpus, queries)
    print(
        f"{made}; {len(queries)} queries from {args.held_out}, truth in "
        f"{time.perf_counter() - start:.0f} s; load {format_loads(os.getloadavg())}",
        flush=True,
    )
    results = RESULTS_DIR / f"index_kinds-{args.rows}.json"
    out: dict[str, Any] = {
        "machine": machine_basics(),
        "code": code_state(REPO, "elacsym_sql", "bench"),
        "data": made,
        "rows": len(corpus),
        "queries": len(queries),
        "held_out": args.held_out,
        "lancedb": package_version("lancedb"),
        "hnswlib": package_version("hnswlib"),
        "systems": [],
    }
    if args.keep and results.exists():
        out["systems"] = kept(json.loads(results.read_text()), out, args.skip)
    runs: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "hnsw": lambda: engine_kind("hnsw", corpus, queries, want, exact_n, args.fold_rows),
        "clustered": lambda: engine_kind(
            "clustered", corpus, queries, want, exact_n, args.fold_rows
        ),
        "hnswlib": lambda: [hnswlib_system(corpus, queries, want)],
        "lance": lambda: lance_systems(corpus, queries, want),  # last: see lance_systems
    }
    for name, run in runs.items():
        if name not in args.skip:
            done = [{**s, "run": name} for s in run()]
            print(table(done), flush=True)
            out["systems"] += done
            write_results(results, out, announce=False)  # what finished, should a later one fail
    out["load_at_end"] = os.getloadavg()
    report(out, args.rows)
    write_results(results, out)


if __name__ == "__main__":
    main()
