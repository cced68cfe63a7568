"""The clustered vector index (issue 12 item 3, decisions 0080-0082, 0088) on the sentence
vectors: recall@10 against queries/s warm, the fold's time against raw hnswlib's build of
the same rows, and per cold query (new engine, empty caches) the round trips, requests and
bytes read; RSS while a namespace several times larger than `memory_cache_bytes` is
searched repeatedly.

    python bench/clustered.py [--held-out pydoc:numpy] [--queries 300] [--cold 20]
        [--memory-mb 64] [--store local|moto|seaweedfs]

Data: as bench/recall_default.py (all rows but the held-out source indexed, 127.8k x 384;
queries: random rows of the held-out source). The store: a local directory by default, where
cold queries get 20 ms added to each store call (S3's time to first byte, simulated: their
seconds are no S3 measurement; tests/engine/test_cold_reads.py checks the counts over moto);
or an S3 server started on 127.0.0.1 (`--store seaweedfs` or `moto`), reached over HTTP with
nothing added. Warm: one engine, every query once first, then each query timed with the
store requests and bytes it caused.
Round trips: the longest chain of batches of ranged reads each sent after the previous one
was answered (a batch's requests are sent together). Requests and bytes: the store's own
counters (MeteredStore). Writes bench/results/clustered.json and a plot when matplotlib is
installed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
from common import REPO, RESULTS_DIR, code_state, machine_basics, recall_at_k, write_results
from recall_default import per_second, split, truth

from elacsym_sql.config import Settings
from elacsym_sql.engine import Engine, EngineApi
from elacsym_sql.index import DEFAULT_EF_CONSTRUCTION, DEFAULT_M
from elacsym_sql.index.threads import limit_blas_threads
from elacsym_sql.metrics import STORE_BYTES
from elacsym_sql.schema import Column, Options, Schema
from elacsym_sql.storage import MeteredStore
from elacsym_sql.testing import s3servers

T = TypeVar("T")

RESULTS = RESULTS_DIR / "clustered.json"
TARGETS = (0.9, 0.95, 0.97, 0.99)
NPROBES = (16, 32, 64, 96, 128, 192)
LATENCY = 0.02  # seconds added to each store call of a cold query (S3's time to first byte)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def batch_timer(engine: Engine) -> list[tuple[float, float]]:
    """Record when each batch of ranged reads was sent and answered."""
    batches: list[tuple[float, float]] = []
    make = engine.files.reader

    def reader(key: str):  # type: ignore[no-untyped-def]
        read = make(key)

        def timed(ranges):  # type: ignore[no-untyped-def]
            sent = time.monotonic()
            out = read(ranges)
            batches.append((sent, time.monotonic()))
            return out

        return timed

    engine.files.reader = reader  # type: ignore[method-assign]
    return batches


class SlowStore(MeteredStore):
    """The engine's store with `LATENCY` seconds added to every call, as an S3 GET's first
    byte takes: on a local directory, a batch's reads end before the next batch is sent
    whether or not they were sent together, and round trips could not be told apart."""

    def __init__(self, inner: MeteredStore) -> None:
        super().__init__(inner.inner)

    def _call(self, op: str, key: str, call: Callable[[], T]) -> T:
        time.sleep(LATENCY)
        return super()._call(op, key, call)


def round_trips(batches: list[tuple[float, float]]) -> int:
    depth: list[int] = []
    ordered = sorted(batches)
    for i, (sent, _) in enumerate(ordered):
        depth.append(1 + max((depth[j] for j in range(i) if ordered[j][1] <= sent), default=0))
    return max(depth, default=0)


def raw_hnsw_build(corpus: np.ndarray) -> float:
    """Seconds raw hnswlib takes to build its index of the same rows (the engine's M and
    ef_construction, every core): the peer of the fold's time."""
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=corpus.shape[1])
    index.init_index(len(corpus), M=DEFAULT_M, ef_construction=DEFAULT_EF_CONSTRUCTION)
    start = time.perf_counter()
    index.add_items(corpus, num_threads=os.cpu_count() or 1)
    return time.perf_counter() - start


@contextlib.contextmanager
def store_root(store: str, work: str) -> Iterator[dict[str, Any]]:
    """The Settings fields of the namespace's root on `store` (an S3 server is started and
    stopped around the run)."""
    if store == "local":
        yield {"data": f"{work}/data"}
        return
    start = s3servers.seaweedfs_server if store == "seaweedfs" else s3servers.moto_server
    with start(Path(work) / store) as server:
        yield {"data": f"s3://{server.bucket}/bench", **server.connect_kwargs()}


def settings(root: dict[str, Any], work: str, cache: str, memory: int | None = None) -> Settings:
    extra = {} if memory is None else {"memory_cache_bytes": memory}
    return Settings(cache_dir=f"{work}/{cache}", indexer=False, **root, **extra)


def store_counts(engine: Engine) -> tuple[int, float]:
    """The store requests and bytes read so far (the bytes counter is process-wide)."""
    return sum(engine.store.request_counts.values()), STORE_BYTES.labels("get")._value.get()


def percentiles(values: list[float]) -> dict[str, float]:
    return {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--held-out", default="pydoc:numpy")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--cold", type=int, default=20)
    parser.add_argument("--memory-mb", type=int, default=64)
    parser.add_argument("--store", choices=("local", "moto", "seaweedfs"), default="local")
    args = parser.parse_args()
    limit_blas_threads(1)
    corpus, queries = split(args.held_out, args.queries)
    want = truth(corpus, queries)
    vector_bytes = corpus.nbytes
    work = tempfile.mkdtemp(prefix="bench-clustered-")
    out: dict = {"rows": len(corpus), "dim": corpus.shape[1], "vector_bytes": vector_bytes,
                 "store": args.store}  # fmt: skip
    with store_root(args.store, work) as root:
        run(args, root, work, corpus, queries, want, out)
    out["machine"] = machine_basics()
    out["code"] = code_state(REPO, "elacsym_sql", "bench")
    write_results(RESULTS, out)
    report(out)


def run(args: argparse.Namespace, root: dict[str, Any], work: str, corpus: np.ndarray,
        queries: np.ndarray, want: np.ndarray, out: dict) -> None:  # fmt: skip
    vector_bytes = corpus.nbytes
    engine = Engine(settings(root, work, "cache"))
    api = EngineApi(engine)
    dim = corpus.shape[1]
    columns = (Column("id", "BIGINT"), Column("v", f"FLOAT[{dim}]"))
    api.create_namespace(Schema("s", columns, "id", Options(vector_index="clustered")))
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(corpus.reshape(-1)), dim)
    api.upsert("s", pa.table({"id": np.arange(len(corpus)), "v": vectors}))
    start = time.perf_counter()
    engine.fold("s")
    out["fold_seconds"] = time.perf_counter() - start
    out["raw_hnsw_build_seconds"] = raw_hnsw_build(corpus)
    [segment] = engine.namespace("s").snapshot().manifest.segments
    out["probe_curve"] = segment.ef_recall["ivf:v"]
    out["index_bytes"] = segment.index_bytes
    out["segment_bytes"] = segment.bytes

    def ids(result) -> list[int]:  # type: ignore[no-untyped-def]
        return result.rows.column("id").to_pylist()

    def measure(label: str, **options: object) -> dict:
        ids(api.vector_search("s", queries[0], 10, **options))  # the code blocks it reads
        qps, cpu_qps, found = per_second(
            lambda q: ids(api.vector_search("s", q, 10, **options)), queries
        )
        return {"label": label, "recall": recall_at_k(found, want), "qps": qps,
                "cpu_qps": cpu_qps, **options}  # fmt: skip

    out["warm"] = [measure("default")] + [measure(f"target {t}", recall_target=t) for t in TARGETS]
    out["warm_nprobe"] = [measure(f"nprobe {p}", ef=p) for p in NPROBES]
    engine.close()

    cold = []
    for i, q in enumerate(queries[: args.cold]):
        reader = Engine(settings(root, work, f"cold-{i}"))
        api_cold = EngineApi(reader)
        reader.namespace("s").snapshot()
        if args.store == "local":
            reader.files.store = SlowStore(reader.files.store)  # type: ignore[arg-type]
        batches = batch_timer(reader)
        requests, read = store_counts(reader)
        start = time.perf_counter()
        got = ids(api_cold.vector_search("s", q, 10))
        seconds = time.perf_counter() - start
        requests_after, read_after = store_counts(reader)
        cold.append({
            "seconds": seconds,
            "round_trips": round_trips(batches),
            "requests": requests_after - requests,
            "bytes": read_after - read,
            "recall": recall_at_k([got], want[i : i + 1]),
        })  # fmt: skip
        reader.close()
    out["cold"] = cold
    out["warm_latency"] = warm_latency(EngineApi(Engine(settings(root, work, "warm"))), queries)

    memory = args.memory_mb << 20
    small = Engine(settings(root, work, "cache", memory))
    api_small = EngineApi(small)
    rss = [rss_mb()]
    found = []
    for _ in range(3):  # the same queries three times over: no growth, no reloading
        found = [ids(api_small.vector_search("s", q, 10)) for q in queries]
        rss.append(rss_mb())
    out["bounded"] = {
        "memory_cache_bytes": memory,
        "namespace_to_memory": round(vector_bytes / memory, 1),
        "rss_mb_after_each_pass": rss,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "memory_cache_used": small.files.memory._bytes,
        "recall": recall_at_k(found, want),
    }
    small.close()


def warm_latency(api: EngineApi, queries: np.ndarray) -> dict[str, Any]:
    """Each query's seconds and store requests and bytes, once every query ran once."""
    engine = api.engine
    for q in queries:
        api.vector_search("s", q, 10)
    seconds, requests, read = [], [], []
    for q in queries:
        before = store_counts(engine)
        start = time.perf_counter()
        api.vector_search("s", q, 10)
        seconds.append(time.perf_counter() - start)
        after = store_counts(engine)
        requests.append(after[0] - before[0])
        read.append(after[1] - before[1])
    engine.close()
    ms = percentiles([s * 1000 for s in seconds])
    return {**ms, "requests_mean": float(np.mean(requests)), "bytes_mean": float(np.mean(read))}


def report(out: dict) -> None:
    vb = out["vector_bytes"]
    ratio = out["index_bytes"] / vb
    print(f"{out['rows']} x {out['dim']}: fold {out['fold_seconds']:.1f} s (raw hnswlib "
          f"builds its index in {out['raw_hnsw_build_seconds']:.1f} s), index "
          f"{ratio:.2f}x the vector bytes; probe curve {out['probe_curve']}")  # fmt: skip
    print(f"{'search':<14} {'recall@10':>9} {'q/s':>7} {'q/s CPU':>8}")
    for row in out["warm"] + out["warm_nprobe"]:
        print(f"{row['label']:<14} {row['recall']:>9.3f} {row['qps']:>7.0f} {row['cpu_qps']:>8.0f}")
    cold = out["cold"]
    pick = {k: [c[k] for c in cold] for k in ("round_trips", "requests", "bytes", "recall")}
    where = f"+{LATENCY * 1000:.0f} ms a call" if out["store"] == "local" else out["store"]
    ms = percentiles([c["seconds"] * 1000 for c in cold])
    print(f"cold ({len(cold)} queries, empty caches, {where}): "
          f"round trips max {max(pick['round_trips'])}, p50 {ms['p50']:.0f} ms, "
          f"p99 {ms['p99']:.0f} ms, "
          f"requests median {np.median(pick['requests']):.0f}, bytes median "
          f"{np.median(pick['bytes']) / vb:.2%} (max {max(pick['bytes']) / vb:.2%}) of the "
          f"vector bytes, recall@10 {np.mean(pick['recall']):.3f}")  # fmt: skip
    w = out["warm_latency"]
    print(f"warm ({out['store']}): p50 {w['p50']:.1f} ms, p99 {w['p99']:.1f} ms, "
          f"{w['requests_mean']:.2f} store requests and {w['bytes_mean'] / 1024:.1f} kB "
          "a query")  # fmt: skip
    b = out["bounded"]
    print(f"memory_cache_bytes {b['memory_cache_bytes'] >> 20} MB (namespace "
          f"{b['namespace_to_memory']}x): RSS after each pass {b['rss_mb_after_each_pass']} MB, "
          f"cache used {b['memory_cache_used'] >> 20} MB, recall {b['recall']:.3f}")  # fmt: skip
    plot(out)


def plot(out: dict) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    rows = out["warm_nprobe"]
    fig, ax = plt.subplots()
    ax.plot([r["recall"] for r in rows], [r["cpu_qps"] for r in rows], "o-")
    for r in rows:
        ax.annotate(str(r["ef"]), (r["recall"], r["cpu_qps"]))
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries/s (CPU)")
    ax.set_title("clustered index, warm, by clusters probed")
    path = os.fspath(RESULTS.with_suffix(".png"))
    fig.savefig(path)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
