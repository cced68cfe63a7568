"""Transaction costs: single-row INSERT latency in autocommit and inside a 100-statement
block, and COMMIT time by number of namespaces written, on a local directory and on moto.

    python bench/transactions.py [--repeat 3]

Prints a table; numbers are medians over the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import elacsym_sql
from elacsym_sql.testing import s3servers
from elacsym_sql.testing.s3servers import MOTO_KEY, MOTO_SECRET, REGION, s3_client

STATEMENTS = 100


@contextmanager
def _roots() -> Iterator[list[tuple[str, dict[str, object]]]]:
    with tempfile.TemporaryDirectory() as tmp, s3servers.moto_server(in_process=True) as moto:
        bucket = f"b-{uuid.uuid4().hex[:12]}"
        s3_client(moto.endpoint, MOTO_KEY, MOTO_SECRET).create_bucket(Bucket=bucket)
        s3 = {
            "data": f"s3://{bucket}/root",
            "s3_endpoint": moto.endpoint,
            "s3_access_key_id": MOTO_KEY,
            "s3_secret_access_key": MOTO_SECRET,
            "s3_region": REGION,
        }
        yield [("local", {"data": f"{tmp}/data"}), ("moto", s3)]


def _timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _measure(options: dict[str, object], repeat: int) -> dict[str, float]:
    con = elacsym_sql.connect(**options, cache_dir=tempfile.mkdtemp(), indexer=False)
    for i in range(4):
        con.execute(f"CREATE TABLE t{i} (id BIGINT PRIMARY KEY, v TEXT)")
    next_id = iter(range(1, 10**9))
    out: dict[str, list[float]] = {}

    def insert(table: str = "t0") -> None:
        con.execute(f"INSERT INTO {table} VALUES (?, 'x')", [next(next_id)])

    for _ in range(repeat):
        auto = _timed(lambda: [insert() for _ in range(STATEMENTS)])
        out.setdefault("autocommit INSERT (ms)", []).append(auto / STATEMENTS * 1e3)
        con.begin()
        staged = _timed(lambda: [insert() for _ in range(STATEMENTS)])
        commit = _timed(con.commit)
        out.setdefault("INSERT in a block (ms)", []).append(staged / STATEMENTS * 1e3)
        out.setdefault("COMMIT of 100 rows, 1 namespace (ms)", []).append(commit * 1e3)
        for n in (2, 4):
            con.begin()
            for i in range(n):
                insert(f"t{i}")
            out.setdefault(f"COMMIT, {n} namespaces (ms)", []).append(_timed(con.commit) * 1e3)
    con.close()
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with _roots() as roots:
        results = {name: _measure(opts, args.repeat) for name, opts in roots}
    names = list(results)
    width = max(len(k) for k in results[names[0]])
    print(f"{'':{width}}  " + "  ".join(f"{n:>8}" for n in names))
    for key in results[names[0]]:
        print(f"{key:{width}}  " + "  ".join(f"{results[n][key]:8.2f}" for n in names))


if __name__ == "__main__":
    main()
