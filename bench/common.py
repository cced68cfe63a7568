"""Helpers the benchmark scripts share: data paths and loading, timing, recall, the machine
and code banner, report formatting and writing the JSON results.

Imported as `common` by the scripts in this directory (run as `python bench/<script>.py`,
which puts bench/ on `sys.path`).
"""

from __future__ import annotations

import importlib.metadata
import itertools
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import hnswlib
import numpy as np
import pyarrow as pa

T = TypeVar("T")

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS_DIR = BENCH / "results"
SHARED_DATA = REPO.parent / "shared" / "data"
SENTENCES = SHARED_DATA / "sentences"
SENTENCE_VECTORS = SENTENCES / "minilm384.f16.npy"
DIM = 384  # all-MiniLM-L6-v2
METRIC = "cosine"  # of the vector benchmarks
K = 10  # neighbours per query: recall@K


# -- data ---------------------------------------------------------------------------------


def sentence_vectors() -> np.ndarray:
    """All sentence embeddings, (rows, 384) float16, memory-mapped (nothing read yet)."""
    return np.load(SENTENCE_VECTORS, mmap_mode="r")


def sentence_texts(rows: int) -> list[str]:
    """The text of the first `rows` sentences, in the order of `sentence_vectors()`."""
    with open(SENTENCES / "sentences.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in itertools.islice(f, rows)]


def as_float32(x: np.ndarray) -> np.ndarray:
    """A C-contiguous float32 copy (or view, when `x` already is one) of `x`."""
    return np.ascontiguousarray(x, dtype=np.float32)


def arrow_vectors(x: np.ndarray) -> pa.FixedSizeListArray:
    """The rows of the 2-d array `x` as an Arrow FixedSizeList column (FLOAT[d] in SQL)."""
    return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])


def vector_engine(
    vectors: np.ndarray,
    prefix: str,
    indexer: bool = True,
    options: Any = None,
    chunk_rows: int | None = None,
    **settings: Any,
) -> tuple[Any, float]:
    """An EngineApi over a new temporary root whose namespace `s` (id BIGINT, v FLOAT[d])
    holds `vectors` (ids 0..n-1), and the seconds the upsert took to be acknowledged.
    `indexer`: the background folds run (else nothing folds the rows unless asked).
    `options`: the namespace's schema.Options (default: the defaults); `chunk_rows`: upsert
    that many rows at a time (default: all in one); `settings`: more Settings fields."""
    import tempfile

    from elacsym_sql.config import Settings
    from elacsym_sql.engine import Engine, EngineApi
    from elacsym_sql.schema import Column, Options, Schema

    work = tempfile.mkdtemp(prefix=prefix)
    api = EngineApi(
        Engine(
            Settings(data=f"{work}/data", cache_dir=f"{work}/cache", indexer=indexer, **settings)
        )
    )
    dim = vectors.shape[1]
    columns = (Column("id", "BIGINT"), Column("v", f"FLOAT[{dim}]"))
    api.create_namespace(Schema("s", columns, "id", options or Options()))
    step = chunk_rows or max(1, len(vectors))
    start = time.perf_counter()
    for first in range(0, len(vectors), step):
        part = vectors[first : first + step]
        ids = np.arange(first, first + len(part))
        api.upsert("s", pa.table({"id": ids, "v": arrow_vectors(part)}))
    return api, time.perf_counter() - start


def raw_hnsw(vectors: np.ndarray, m: int, ef_construction: int) -> hnswlib.Index:
    """A plain hnswlib index (METRIC) of `vectors`, labels 0..n-1, built on all cores."""
    index = hnswlib.Index(space=METRIC, dim=vectors.shape[1])
    index.init_index(max_elements=len(vectors), M=m, ef_construction=ef_construction)
    index.add_items(vectors)
    return index


def unit_rows(x: np.ndarray) -> np.ndarray:
    """`x` with every row scaled to unit length (cosine similarity is then a dot product)."""
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# The million of the scale benchmarks (bench/hybrid_scale.py, bench/index_kinds.py): row i is
# a copy of base row i % n; copy 0 is the row itself, copies 1, 2, ... add Gaussian noise of
# SCALE_NOISE per dimension (cosine ~0.86 to the original at 384 dimensions), renormalised.
# Made SCALE_CHUNK rows at a time, the noise of the chunk starting at row s drawn from
# np.random.default_rng(s).
SCALE_NOISE = 0.03
SCALE_CHUNK = 250_000


def noisy_copies(base: np.ndarray, start: int, stop: int, rng: np.random.Generator) -> np.ndarray:
    """Rows start..stop-1 (float32) of the scale-up of `base` (see SCALE_NOISE), the noise
    drawn from `rng` (one normal per element of every row, copy 0's drawn and unused)."""
    n = len(base)
    ids = np.arange(start, stop)
    source, copy = ids % n, ids // n
    noise = rng.normal(0, SCALE_NOISE, (len(ids), base.shape[1]))
    vectors = base[source] + (copy > 0)[:, None] * noise
    return as_float32(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


def scaled_vectors(base: np.ndarray, rows: int) -> np.ndarray:
    """The first `rows` rows of the scale-up of `base`, made as bench/hybrid_scale.py makes
    its rows (chunk by chunk, each chunk's noise seeded by its first row)."""
    out = np.empty((rows, base.shape[1]), np.float32)
    for start in range(0, rows, SCALE_CHUNK):
        stop = min(rows, start + SCALE_CHUNK)
        out[start:stop] = noisy_copies(base, start, stop, np.random.default_rng(start))
    return out


# -- measuring ----------------------------------------------------------------------------


def recall_at_k(found: Sequence[Sequence[int]] | np.ndarray, truth: np.ndarray) -> float:
    """Recall of `found` (ids per query) against the first len(found) rows of `truth`
    (the exact ids, one row of k per query): the share of true neighbours found."""
    found_rows = found.tolist() if isinstance(found, np.ndarray) else found
    truth = truth[: len(found_rows)]
    pairs = zip(found_rows, truth.tolist(), strict=True)
    return sum(len(set(f) & set(t)) for f, t in pairs) / truth.size


def best_time(fn: Callable[[], T], repeat: int = 1) -> tuple[float, T]:
    """The fewest seconds one call of `fn` took over `repeat` calls, and the last result."""
    best = float("inf")
    out: Any = None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def median_by_key(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """For each key of the first run, the median of its values over all `runs`."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


# -- machine and code ---------------------------------------------------------------------


def package_version(name: str) -> str | None:
    """The installed version of distribution `name`, None when it is not installed (the
    package is not imported)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_basics() -> dict[str, Any]:
    """Cores usable by this process, platform and Python version."""
    return {
        "cpus_usable": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def code_state(cwd: Path, *pathspecs: str) -> dict[str, Any]:
    """The commit checked out at `cwd` and the files under `pathspecs` that differ from it
    (results depend on both); commit None and nothing modified outside a git checkout."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
        return done.stdout if done.returncode == 0 else ""

    status = git("status", "--porcelain", "--", *pathspecs)
    return {
        "commit": git("rev-parse", "--short", "HEAD").strip() or None,
        "modified": [line[3:] for line in status.splitlines()],  # "XY path"
    }


# -- reporting ----------------------------------------------------------------------------


def format_loads(loads: Iterable[float]) -> str:
    """Load averages as "0.12 0.34 0.56"."""
    return " ".join(f"{x:.2f}" for x in loads)


def yes_no(flag: bool) -> str:
    """The word "yes", or a conspicuous "NO"."""
    return "yes" if flag else "NO"


def write_results(
    path: Path, result: dict[str, Any], indent: int = 2, announce: bool = True
) -> None:
    """Write `result` as JSON to `path` (parent directories created); with `announce`, print
    where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=indent) + "\n")
    if announce:
        print(f"\nwrote {path}")
