"""What keys, sequences and constraints cost: single-row autocommit INSERT latency into
tables of each kind, and nextval() throughput with the storage requests it makes, on a
local directory and on moto.

    python bench/schemas.py [--rows 200]

Prints a table; latencies are medians over the rows inserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import elacsym_sql
from elacsym_sql.testing import s3servers
from elacsym_sql.testing.s3servers import MOTO_KEY, MOTO_SECRET, REGION, s3_client

TABLES = {
    "bigint key": ("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT, n INT)",
                   "INSERT INTO t VALUES (?, ?, ?)", True),
    "serial key": ("CREATE TABLE t (id SERIAL PRIMARY KEY, v TEXT, n INT)",
                   "INSERT INTO t (v, n) VALUES (?, ?)", False),
    "composite key": ("CREATE TABLE t (a INT, b TEXT, v TEXT, n INT, PRIMARY KEY (a, b))",
                      "INSERT INTO t VALUES (?, 'k', ?, ?)", True),
    "no key": ("CREATE TABLE t (v TEXT, n INT)", "INSERT INTO t VALUES (?, ?)", False),
    "serial+check+unique+fk": (
        "CREATE TABLE t (id SERIAL PRIMARY KEY, v TEXT UNIQUE, n INT CHECK (n >= 0)"
        " REFERENCES p (id))",
        "INSERT INTO t (v, n) VALUES (?, ?)", False),
}  # fmt: skip


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


def _insert_latency(settings: dict[str, object], kind: str, rows: int) -> float:
    create, insert, keyed = TABLES[kind]
    data = f"{settings['data']}-{uuid.uuid4().hex[:8]}"
    con = elacsym_sql.connect(**{**settings, "data": data, "indexer": False})
    try:
        con.execute("CREATE TABLE p (id INT PRIMARY KEY)")
        con.execute("INSERT INTO p VALUES (0), (1)")
        con.execute(create)
        times = []
        for i in range(rows):
            params = [i, f"v{i}", i % 2] if keyed else [f"v{i}", i % 2]
            start = time.perf_counter()
            con.execute(insert, params)
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000
    finally:
        con.close()


def _nextval(settings: dict[str, object], values: int) -> tuple[float, int]:
    """(values per second, PUT requests) for `values` nextval() calls, one per statement."""
    data = f"{settings['data']}-{uuid.uuid4().hex[:8]}"
    con = elacsym_sql.connect(**{**settings, "data": data, "indexer": False})
    try:
        con.execute("CREATE SEQUENCE s")
        store = con.database.engine.store
        puts = store.request_counts["put"]
        start = time.perf_counter()
        for _ in range(values):
            con.execute("SELECT nextval('s')").fetchall()
        rate = values / (time.perf_counter() - start)
        return rate, store.request_counts["put"] - puts
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200)
    args = parser.parse_args()
    with _roots() as roots:
        print(f"single-row autocommit INSERT, median ms over {args.rows} rows")
        print(f"{'table':<26}" + "".join(f"{name:>10}" for name, _ in roots))
        for kind in TABLES:
            cells = [_insert_latency(s, kind, args.rows) for _, s in roots]
            print(f"{kind:<26}" + "".join(f"{c:>10.2f}" for c in cells))
        print(f"\nnextval(), {args.rows * 5} calls, one statement each")
        for name, settings in roots:
            rate, puts = _nextval(settings, args.rows * 5)
            print(f"{name:<8} {rate:>8.0f} values/s, {puts} conditional PUTs")


if __name__ == "__main__":
    main()
