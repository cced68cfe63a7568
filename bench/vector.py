"""Vector index benchmark: recall@10 and queries/s of `elacsym_sql.index` against raw hnswlib
and numpy exact search, on real sentence embeddings.

    python bench/vector.py [--queries 1000] [--rows N] [--efs 32,64,128] [--skip-thresholds]

Data: ../shared/data/sentences/minilm384.f16.npy (all-MiniLM-L6-v2, 384-d, unit length), cast
to float32. `--queries` rows (random, seeded) are held out as queries; the rest (or the first
`--rows` of them) are indexed.
Recall@10 is always measured against exact search over the same (allowed) rows.

Sections:
- build: raw hnswlib (init_index + add_items) vs `build_hnsw` (the same, plus serializing to
  bytes), same M / ef_construction / threads; best of `--build-repeat`.
- unfiltered: one query at a time at each ef, raw `knn_query` vs `HnswIndex.search`; the same
  for a batch of all queries; numpy exact one at a time; `HnswIndex.search` from 2 threads.
- filtered: random allowed masks at 50%, 10%, 1%: `HnswIndex.search` (which chooses graph or
  exact) vs raw hnswlib with a filter callback, ef=64.
- thresholds (the measurements behind SMALL_SEGMENT_ROWS and the exact fallback): exact vs HNSW
  per query on small random subsets; forced exact vs forced graph at several selectivities.

Prints tables and writes bench/results/vector.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np
from common import (
    METRIC,
    RESULTS_DIR,
    K,
    as_float32,
    best_time,
    machine_basics,
    package_version,
    raw_hnsw,
    recall_at_k,
    sentence_vectors,
    write_results,
    yes_no,
)

from elacsym_sql.index import (
    DEFAULT_EF_CONSTRUCTION,
    DEFAULT_M,
    EXACT_FALLBACK_FACTOR,
    EXACT_FALLBACK_ROWS,
    SMALL_SEGMENT_ROWS,
    HnswIndex,
    build_hnsw,
    exact_search,
    vector_norms,
)
from elacsym_sql.index.vector import _prefer_exact

RESULTS = RESULTS_DIR / "vector.json"


def one_at_a_time(
    fn: Callable[[np.ndarray], np.ndarray], queries: np.ndarray, repeat: int = 2
) -> tuple[float, np.ndarray]:
    """Best queries/s over `repeat` passes calling fn(query) per query, and fn's results."""
    best, out = 0.0, None
    for _ in range(repeat):
        start = time.perf_counter()
        rows = [fn(q) for q in queries]
        best = max(best, len(queries) / (time.perf_counter() - start))
        out = np.vstack(rows)
    return best, out


def load_data(n_queries: int, seed: int, rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(base, queries): `n_queries` random rows held out, then the first `rows` of the rest
    (all of them by default), in data set order."""
    x = as_float32(sentence_vectors())
    perm = np.random.default_rng(seed).permutation(len(x))
    queries = np.ascontiguousarray(x[perm[:n_queries]])
    base = np.ascontiguousarray(x[np.sort(perm[n_queries:])][:rows])
    return base, queries


def bench_build(base: np.ndarray, args: argparse.Namespace) -> tuple[dict, hnswlib.Index, bytes]:
    raw_s, ours_s = [], []
    raw = data = None
    for _ in range(args.build_repeat):
        t, raw = best_time(lambda: raw_hnsw(base, args.M, args.ef_construction))
        raw_s.append(t)
        t, data = best_time(
            lambda: build_hnsw(base, METRIC, M=args.M, ef_construction=args.ef_construction)
        )
        ours_s.append(t)
        print(f"  build: raw {raw_s[-1]:.2f} s, build_hnsw {ours_s[-1]:.2f} s", flush=True)
    result = {
        "rows": len(base),
        "M": args.M,
        "ef_construction": args.ef_construction,
        "raw_s": raw_s,
        "ours_s": ours_s,
        "ratio_best": min(ours_s) / min(raw_s),
        "index_bytes": len(data),
    }
    return result, raw, data


def bench_unfiltered(
    raw: hnswlib.Index, index: HnswIndex, queries: np.ndarray, truth: np.ndarray, efs: list[int]
) -> list[dict]:
    rows = []
    for ef in efs:
        raw.set_ef(ef)
        raw_qps, raw_found = one_at_a_time(lambda q: raw.knn_query(q, k=K)[0], queries)
        our_qps, our_found = one_at_a_time(lambda q, ef=ef: index.search(q, K, ef)[0], queries)
        raw_batch, _ = best_time(lambda: raw.knn_query(queries, k=K)[0], repeat=3)
        our_batch, our_b = best_time(lambda ef=ef: index.search(queries, K, ef)[0], repeat=3)
        rows.append(
            {
                "ef": ef,
                "raw_recall": recall_at_k(raw_found, truth),
                "raw_qps": raw_qps,
                "ours_recall": recall_at_k(our_found, truth),
                "ours_qps": our_qps,
                "raw_batch_qps": len(queries) / raw_batch,
                "ours_batch_qps": len(queries) / our_batch,
                "ours_batch_recall": recall_at_k(our_b, truth),
            }
        )
        print(f"  ef {ef}: {rows[-1]}", flush=True)
    return rows


def bench_threads(index: HnswIndex, queries: np.ndarray, threads: int, ef: int) -> float:
    chunks = np.array_split(queries, threads)

    def run(chunk: np.ndarray) -> None:
        for q in chunk:
            index.search(q, K, ef)

    best = 0.0
    for _ in range(2):
        start = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, chunks))
        best = max(best, len(queries) / (time.perf_counter() - start))
    return best


def bench_filtered(
    raw: hnswlib.Index,
    index: HnswIndex,
    base: np.ndarray,
    norms: np.ndarray,
    queries: np.ndarray,
    fractions: list[float],
    ef: int,
    seed: int,
) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    raw.set_ef(ef)
    for fraction in fractions:
        allowed = rng.random(len(base)) < fraction
        count = int(allowed.sum())
        truth, _ = exact_search(base, queries, K, METRIC, allowed, norms=norms)
        qps, found = one_at_a_time(lambda q, a=allowed: index.search(q, K, ef, a)[0], queries)
        lookup = allowed.view(np.uint8).tobytes().__getitem__
        raw_qps, raw_found = one_at_a_time(
            lambda q, f=lookup: raw.knn_query(q, k=K, filter=f)[0], queries, repeat=1
        )
        ok = bool(allowed[found].all()) and found.shape == (len(queries), K)
        rows.append(
            {
                "fraction": fraction,
                "allowed_rows": count,
                "path": "exact" if _prefer_exact(count, len(base), ef) else "graph",
                "ours_recall": recall_at_k(found, truth),
                "ours_qps": qps,
                "ours_always_k_allowed": ok,
                "raw_filter_recall": recall_at_k(raw_found, truth),
                "raw_filter_qps": raw_qps,
            }
        )
        print(f"  filtered {fraction}: {rows[-1]}", flush=True)
    return rows


def bench_small_segments(base: np.ndarray, queries: np.ndarray, sizes: list[int]) -> list[dict]:
    rng = np.random.default_rng(1)
    q = queries[:300]
    rows = []
    for n in sizes:
        sub = np.ascontiguousarray(base[np.sort(rng.choice(len(base), n, replace=False))])
        build_s, data = best_time(lambda sub=sub: build_hnsw(sub, METRIC))
        index = HnswIndex.load(data, METRIC, sub.shape[1])
        norms = vector_norms(sub)
        exact_qps, truth = one_at_a_time(
            lambda v, s=sub, nm=norms: exact_search(s, v, K, METRIC, norms=nm)[0], q
        )
        exact_nonorm_qps, _ = one_at_a_time(lambda v, s=sub: exact_search(s, v, K, METRIC)[0], q)
        hnsw_qps, found = one_at_a_time(lambda v, ix=index: ix.search(v, K, 64)[0], q)
        rows.append(
            {
                "rows": n,
                "exact_ms": 1e3 / exact_qps,
                "exact_without_norms_ms": 1e3 / exact_nonorm_qps,
                "hnsw_ef64_ms": 1e3 / hnsw_qps,
                "hnsw_ef64_recall": recall_at_k(found, truth),
                "build_s": build_s,
            }
        )
        print(f"  small segment {n}: {rows[-1]}", flush=True)
    return rows


def bench_crossover(
    index: HnswIndex, n: int, queries: np.ndarray, fractions: list[float], ef: int
) -> list[dict]:
    rng = np.random.default_rng(2)
    q = queries[:200]
    rows = []
    for fraction in fractions:
        allowed = rng.random(n) < fraction
        count = int(allowed.sum())
        exact_qps, truth = one_at_a_time(
            lambda v, a=allowed: index.search(v, K, ef, a, exact=True)[0], q, repeat=1
        )
        graph_qps, found = one_at_a_time(
            lambda v, a=allowed: index.search(v, K, ef, a, exact=False)[0], q, repeat=1
        )
        rows.append(
            {
                "rows": n,
                "fraction": fraction,
                "allowed_rows": count,
                "model": count * count / (ef * n),
                "exact_ms": 1e3 / exact_qps,
                "graph_ms": 1e3 / graph_qps,
                "graph_recall": recall_at_k(found, truth),
                "chosen": "exact" if _prefer_exact(count, n, ef) else "graph",
            }
        )
        print(f"  crossover {n} {fraction}: {rows[-1]}", flush=True)
    return rows


def machine() -> dict:
    return {**machine_basics(), "numpy": np.__version__, "hnswlib": package_version("hnswlib")}


def render(result: dict) -> str:
    out = []
    m, b = result["machine"], result["build"]
    out.append(
        f"machine: {m['cpus_usable']} cores, {m['platform']}, numpy {m['numpy']}, "
        f"hnswlib {m['hnswlib']}"
    )
    out.append(
        f"data: {b['rows']} indexed x 384-d ({METRIC}), {result['queries']} held-out queries, "
        f"k={K}; recall@10 against exact search"
    )
    out.append("")
    out.append(
        f"build (M={b['M']}, ef_construction={b['ef_construction']}, all cores): raw hnswlib "
        f"{min(b['raw_s']):.2f} s, build_hnsw {min(b['ours_s']):.2f} s "
        f"(ratio {b['ratio_best']:.3f}; index {b['index_bytes'] / 2**20:.1f} MiB, "
        f"load {result['load_s'] * 1e3:.0f} ms)"
    )
    out.append("")
    out.append("unfiltered, one query at a time (batch = all queries in one call)")
    out.append(
        f"  {'ef':>4} | {'raw recall':>10} {'raw q/s':>8} | {'ours recall':>11} {'ours q/s':>8}"
        f" {'ours/raw':>8} | {'raw batch q/s':>13} {'ours batch q/s':>14}"
    )
    for r in result["unfiltered"]:
        out.append(
            f"  {r['ef']:>4} | {r['raw_recall']:>10.4f} {r['raw_qps']:>8.0f} |"
            f" {r['ours_recall']:>11.4f} {r['ours_qps']:>8.0f}"
            f" {r['ours_qps'] / r['raw_qps']:>8.2f} |"
            f" {r['raw_batch_qps']:>13.0f} {r['ours_batch_qps']:>14.0f}"
        )
    out.append(
        f"  numpy exact (exact_search, norms cached): {result['exact_qps']:.0f} q/s, recall 1"
    )
    out.append(f"  HnswIndex.search from 2 threads, ef=64: {result['threads2_qps']:.0f} q/s")
    out.append("")
    out.append(f"filtered (random allowed mask), ef={result['filter_ef']}, one query at a time")
    out.append(
        f"  {'allowed':>8} {'rows':>7} {'path':>6} | {'ours recall':>11} {'ours q/s':>8}"
        f" {'k rows':>6} | {'raw+filter recall':>17} {'raw+filter q/s':>14}"
    )
    for r in result["filtered"]:
        out.append(
            f"  {r['fraction']:>8.0%} {r['allowed_rows']:>7} {r['path']:>6} |"
            f" {r['ours_recall']:>11.4f} {r['ours_qps']:>8.0f}"
            f" {yes_no(r['ours_always_k_allowed']):>6} |"
            f" {r['raw_filter_recall']:>17.4f} {r['raw_filter_qps']:>14.0f}"
        )
    if result.get("small_segments"):
        out.append("")
        out.append(
            f"small segments (random subsets; SMALL_SEGMENT_ROWS = {SMALL_SEGMENT_ROWS}), ms/query"
        )
        out.append(
            f"  {'rows':>6} | {'exact':>7} {'exact, no norms':>15} | {'hnsw ef64':>9}"
            f" {'recall':>6} {'build s':>7}"
        )
        for r in result["small_segments"]:
            out.append(
                f"  {r['rows']:>6} | {r['exact_ms']:>7.3f} {r['exact_without_norms_ms']:>15.3f} |"
                f" {r['hnsw_ef64_ms']:>9.3f} {r['hnsw_ef64_recall']:>6.3f} {r['build_s']:>7.2f}"
            )
    if result.get("crossover"):
        out.append("")
        out.append(
            f"filtered: exact over allowed rows vs graph+filter, ef={result['filter_ef']}, ms/query"
            f" (exact when rows <= {EXACT_FALLBACK_ROWS} or rows^2 <= {EXACT_FALLBACK_FACTOR:g}"
            f" * ef * n)"
        )
        out.append(
            f"  {'n':>7} {'allowed':>7} {'rows':>6} {'rows^2/(ef n)':>13} | {'exact':>7}"
            f" {'graph':>7} {'graph recall':>12} | chosen"
        )
        for r in result["crossover"]:
            out.append(
                f"  {r['rows']:>7} {r['fraction']:>7.1%} {r['allowed_rows']:>6}"
                f" {r['model']:>13.2f} | {r['exact_ms']:>7.3f} {r['graph_ms']:>7.3f}"
                f" {r['graph_recall']:>12.3f} | {r['chosen']}"
            )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=None, help="rows indexed (default: all)")
    parser.add_argument("--efs", default="32,64,128")
    parser.add_argument("--M", type=int, default=DEFAULT_M)
    parser.add_argument("--ef-construction", type=int, default=DEFAULT_EF_CONSTRUCTION)
    parser.add_argument("--build-repeat", type=int, default=2)
    parser.add_argument("--exact-queries", type=int, default=200)
    parser.add_argument("--filter-ef", type=int, default=64)
    parser.add_argument("--skip-thresholds", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    efs = [int(e) for e in args.efs.split(",")]

    base, queries = load_data(args.queries, args.seed, args.rows)
    print(f"data: {base.shape} indexed, {queries.shape} queries", flush=True)
    norms = vector_norms(base)
    truth, _ = exact_search(base, queries, K, METRIC, norms=norms)
    exact_qps, exact_found = one_at_a_time(
        lambda q: exact_search(base, q, K, METRIC, norms=norms)[0],
        queries[: args.exact_queries],
        repeat=1,
    )
    assert np.array_equal(exact_found, truth[: args.exact_queries])

    build, raw, data = bench_build(base, args)
    load_s, index = best_time(lambda: HnswIndex.load(data, METRIC, base.shape[1]))
    result: dict[str, Any] = {
        "machine": machine(),
        "queries": len(queries),
        "build": build,
        "load_s": load_s,
        "exact_qps": exact_qps,
        "filter_ef": args.filter_ef,
    }
    result["unfiltered"] = bench_unfiltered(raw, index, queries, truth, efs)
    result["threads2_qps"] = bench_threads(index, queries, 2, 64)
    result["filtered"] = bench_filtered(
        raw, index, base, norms, queries, [0.5, 0.1, 0.01], args.filter_ef, args.seed + 1
    )
    if not args.skip_thresholds:
        result["small_segments"] = bench_small_segments(
            base, queries, [1_000, 2_000, 5_000, 10_000, 20_000]
        )
        fractions = [0.01, 0.02, 0.05, 0.1, 0.2]
        result["crossover"] = bench_crossover(index, len(base), queries, fractions, args.filter_ef)
        sub = np.ascontiguousarray(base[:20_000])
        small = HnswIndex.load(build_hnsw(sub, METRIC), METRIC, sub.shape[1])
        result["crossover"] += bench_crossover(
            small, len(sub), queries, [*fractions, 0.4], args.filter_ef
        )
    text = render(result)
    print("\n" + text)
    write_results(args.output, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
