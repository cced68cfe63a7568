"""Recall by default (issue 12 item 1, decision 0063): recall@10 and queries/s of the engine's
default vector search against raw hnswlib at each ef, on queries from a source left out of
the index, one query at a time, embedded (EngineApi, no server).

    python bench/recall_default.py [--held-out pydoc:numpy] [--queries 1000] [--recalibrate]

Data: the sentence vectors (../shared/data/sentences), all rows but those of `--held-out`
indexed (127.8k for pydoc:numpy); `--queries` random rows of the held-out source are the
queries (docstrings of a library the corpus does not hold: harder than stored vectors).
Sections:
- raw hnswlib (M=16, ef_construction=200, every core): build time; recall and q/s per ef.
- engine: one bulk load, one fold (its index calibrated on probe queries); the default
  search and each recall_target: recall, q/s and the ef each chose; the calibration curve
  (probe queries) beside the curve on the real queries; `recall()` on stored vectors and on
  the recent queries.
- `--recalibrate`: a compaction rebuilds the segment, calibrated on the recent real queries
  (the ring holds the last 256); the default search again.
Goal: default recall@10 >= 0.95 (aim 0.98) at >= 1,000 q/s. Prints a table, writes
bench/results/recall_default.json and a plot (matplotlib, when installed).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pyarrow as pa
from common import (
    REPO,
    RESULTS_DIR,
    SENTENCES,
    arrow_vectors,
    as_float32,
    code_state,
    machine_basics,
    recall_at_k,
    sentence_vectors,
    unit_rows,
    vector_engine,
    write_results,
    yes_no,
)

from elacsym_sql.index import DEFAULT_EF_CONSTRUCTION, DEFAULT_M
from elacsym_sql.index.calibrate import EF_LADDER
from elacsym_sql.index.threads import cores, limit_blas_threads

RESULTS = RESULTS_DIR / "recall_default.json"
TARGETS = (0.9, 0.95, 0.97, 0.98, 0.99)


def split(held_out: str, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    with open(SENTENCES / "sentences.jsonl", encoding="utf-8") as f:
        source = np.array([json.loads(line)["source"] for line in f])
    vectors = as_float32(sentence_vectors())
    held = source == held_out
    rng = np.random.default_rng(0)
    picked = rng.choice(np.flatnonzero(held), size=n_queries, replace=False)
    return vectors[~held], vectors[picked]


def truth(corpus: np.ndarray, queries: np.ndarray) -> np.ndarray:
    scores = unit_rows(queries) @ unit_rows(corpus).T
    return np.argsort(-scores, axis=1)[:, :10]


def per_second(fn, queries: np.ndarray) -> tuple[float, float, list]:  # type: ignore[no-untyped-def]
    """Queries/s by the wall clock and by this process's CPU time (one query at a time runs
    on one thread, so the latter is what an idle machine's wall clock would show: it does
    not count the time other processes held the cores)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = [fn(q) for q in queries]
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    return len(queries) / wall, len(queries) / used, out


def raw_curve(corpus: np.ndarray, queries: np.ndarray, want: np.ndarray) -> dict:
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=corpus.shape[1])
    index.init_index(len(corpus), M=DEFAULT_M, ef_construction=DEFAULT_EF_CONSTRUCTION)
    start = time.perf_counter()
    index.add_items(corpus, num_threads=cores())
    build = time.perf_counter() - start
    points = []
    for ef in EF_LADDER:
        index.set_ef(ef)
        qps, cpu_qps, found = per_second(
            lambda q: index.knn_query(q, 10, num_threads=1)[0][0], queries
        )
        points.append(
            {"ef": ef, "recall": recall_at_k(found, want), "qps": qps, "cpu_qps": cpu_qps}
        )
    return {"build_seconds": build, "curve": points}


def engine_run(corpus: np.ndarray, queries: np.ndarray, want: np.ndarray, recal: bool) -> dict:
    api, _ = vector_engine(corpus, "bench-recall-", indexer=False)
    engine = api.engine
    start = time.perf_counter()
    engine.fold("s")
    out: dict = {"fold_seconds": time.perf_counter() - start}
    [segment] = engine.namespace("s").snapshot().manifest.segments
    out["probe_curve"] = segment.ef_recall["hnsw:v"]

    def ids(result) -> list[int]:  # type: ignore[no-untyped-def]
        return result.rows.column("id").to_pylist()

    def measure(label: str, **options: object) -> dict:
        qps, cpu_qps, found = per_second(
            lambda q: ids(api.vector_search("s", q, 10, **options)), queries
        )
        return {"label": label, "recall": recall_at_k(found, want), "qps": qps, "cpu_qps": cpu_qps,
                **options}  # fmt: skip

    out["default"] = measure("default")
    out["targets"] = [measure(f"target {t}", recall_target=t) for t in TARGETS]
    out["real_curve"] = [measure(f"ef {ef}", ef=ef) for ef in EF_LADDER]
    found = api.recall("s", 200)
    out["recall_report"] = {
        "stored": found.recall_at_10, "recent": found.recent_recall_at_10,
        "recent_queries": found.recent_queries,
    }  # fmt: skip
    if recal:
        api.upsert("s", pa.table({"id": [0], "v": arrow_vectors(corpus[:1])}))  # the same row
        engine.fold("s")
        start = time.perf_counter()
        engine.compact("s", force=True)
        out["recalibrated_seconds"] = time.perf_counter() - start
        [segment] = engine.namespace("s").snapshot().manifest.segments
        out["recalibrated_curve"] = segment.ef_recall["hnsw:v"]
        out["recalibrated_default"] = measure("default, recalibrated")
    engine.close()
    return out


def plot(raw: dict, eng: dict) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    curve = raw["curve"]
    ax.plot([p["recall"] for p in curve], [p["cpu_qps"] for p in curve], "o-", label="raw hnswlib")
    real = eng["real_curve"]
    ax.plot([p["recall"] for p in real], [p["cpu_qps"] for p in real], "s-",
            label="engine, fixed ef")  # fmt: skip
    for p in [eng["default"], *eng["targets"], eng.get("recalibrated_default")]:
        if p:
            ax.scatter(p["recall"], p["cpu_qps"], marker="*", s=120)
            ax.annotate(p["label"], (p["recall"], p["cpu_qps"]), fontsize=7)
    ax.axvline(0.95, color="grey", ls="--")
    ax.axhline(1000, color="grey", ls="--")
    ax.set(
        xlabel="recall@10 (held-out source)",
        ylabel="queries per CPU second, one at a time",
        yscale="log",
    )
    ax.legend()
    path = RESULTS_DIR / "recall_default.png"
    RESULTS_DIR.mkdir(exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--held-out", default="pydoc:numpy")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--recalibrate", action="store_true")
    args = parser.parse_args()
    limit_blas_threads(1)
    corpus, queries = split(args.held_out, args.queries)
    want = truth(corpus, queries)
    print(f"{len(corpus)} rows indexed, {len(queries)} queries from {args.held_out}, "
          f"{cores()} cores, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    raw = raw_curve(corpus, queries, want)
    eng = engine_run(corpus, queries, want, args.recalibrate)
    built, folded = raw["build_seconds"], eng["fold_seconds"]
    print(f"\nbuild: raw hnswlib {built:.1f} s; engine fold {folded:.1f} s")
    print("\nq/s: by the wall clock / by CPU time (one at a time: CPU time is what an idle "
          "machine's clock would show)")  # fmt: skip
    print(f"\n{'ef':>5} {'raw recall':>10} {'raw q/s':>12} {'engine recall':>13} "
          f"{'engine q/s':>12} {'probe recall':>12}")  # fmt: skip
    probes = dict((int(e), r) for e, r in eng["probe_curve"])
    for r, e in zip(raw["curve"], eng["real_curve"], strict=True):
        probe = probes.get(r["ef"])
        print(f"{r['ef']:>5} {r['recall']:>10.3f} {r['qps']:>5.0f} / {r['cpu_qps']:>4.0f} "
              f"{e['recall']:>13.3f} {e['qps']:>5.0f} / {e['cpu_qps']:>4.0f} "
              f"{'' if probe is None else f'{probe:.3f}':>12}")  # fmt: skip
    print(f"\n{'search':>24} {'recall@10':>9} {'q/s':>12}  goal (>= 0.95 at >= 1000 q/s, CPU)")
    rows = [eng["default"], *eng["targets"]]
    if args.recalibrate:
        rows.append(eng["recalibrated_default"])
    for p in rows:
        ok = p["recall"] >= 0.95 and p["cpu_qps"] >= 1000
        print(f"{p['label']:>24} {p['recall']:>9.3f} {p['qps']:>5.0f} / {p['cpu_qps']:>4.0f}"
              f"  {yes_no(ok)}")  # fmt: skip
    rep = eng["recall_report"]
    print(f"\nrecall(): stored vectors {rep['stored']:.3f}, recent real queries "
          f"{rep['recent']:.3f} ({rep['recent_queries']})")  # fmt: skip
    picture = plot(raw, eng)
    if picture:
        print(f"plot: {picture}")
    write_results(RESULTS, {
        "machine": machine_basics(), "code": code_state(REPO, "elacsym_sql"),
        "held_out": args.held_out, "rows": len(corpus), "queries": len(queries),
        "raw": raw, "engine": eng,
    })  # fmt: skip


if __name__ == "__main__":
    main()
