"""Cost of a write to a live full-text index (decisions 0065 and 0091).

    python bench/live_fulltext_writes.py [--base 5000] [--writes 150]

A version of `--base` random documents, then `--writes` one-row writes applied to a
LiveIndex one at a time (what the writer of a namespace does): new keys, overwrites of
keys the tail wrote, overwrites of indexed keys. Prints the time per write and the time a
process that loads the version and the same tail at once takes, and checks that both
score alike.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from elacsym_sql.index.fulltext import FtsSpec, LiveIndex, Upsert, fold
from elacsym_sql.schema import Column, Options, Schema

TEXT = """object storage write ahead log segment index vector search query row column fold
tail merge score rank cache disk cloud bucket key value text word phrase token stem
running runs ran fox dog quick brown lazy jumps over the and of a to in is"""
WORDS = TEXT.split()


class DirIO:
    def __init__(self, root: Path) -> None:
        self.root = root

    def fetch(self, key: str) -> str:
        return str(self.root / key)

    def upload(self, key: str, path: str) -> None:
        (self.root / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, self.root / key)


def corpus(ids: list[int], seed: int) -> pa.Table:
    rng = random.Random(seed)
    body = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60))) for _ in ids]
    return pa.table({"id": ids, "body": body})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=int, default=5000)
    parser.add_argument("--writes", type=int, default=150)
    args = parser.parse_args()
    schema = Schema("docs", (Column("id", "BIGINT"), Column("body", "VARCHAR")), "id",
                    Options(full_text=("body",)))  # fmt: skip
    spec = FtsSpec.from_schema(schema)
    tmp = Path(tempfile.mkdtemp())
    try:
        io = DirIO(tmp)
        base = fold(spec, None, [Upsert(corpus(list(range(args.base)), 1))], io, "ns/fts",
                    wal_hwm=0)  # fmt: skip
        kinds = {
            "new keys": lambda i: args.base + i,
            "overwrites of tail keys": lambda i: args.base + i % 20,
            "overwrites of indexed keys": lambda i: i * 13 % args.base,
        }
        print(f"{'writes':28s} {'median ms':>10s} {'p90 ms':>8s} {'load at once ms':>16s} same")
        for label, key_of in kinds.items():
            live, tail, times = LiveIndex(spec, io), [], []
            live.view(base, [])
            for i in range(args.writes):
                tail.append((i + 1, Upsert(corpus([key_of(i)], 100 + i))))
                started = time.perf_counter()
                searcher = live.view(base, tail)
                times.append(time.perf_counter() - started)
            started = time.perf_counter()
            loaded = LiveIndex(spec, io).view(base, tail)
            once = time.perf_counter() - started
            same = all(searcher.search(q, 50) == loaded.search(q, 50) for q in WORDS[:20])
            p90 = sorted(times)[int(0.9 * len(times))]
            print(f"{label:28s} {statistics.median(times) * 1e3:10.1f} {p90 * 1e3:8.1f} "
                  f"{once * 1e3:16.1f} {same}")  # fmt: skip
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
