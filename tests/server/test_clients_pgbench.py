"""pgbench: `pgbench -i -s 1` (DROP/CREATE TABLE, COPY of 100,000 accounts, VACUUM, ALTER TABLE
... ADD PRIMARY KEY), the default TPC-B-like run for a few seconds, then two clients
retrying serialization failures; after each run the books balance: every account, teller and
branch total equals the sum of the history's deltas, one history row per transaction. Run
against PostgreSQL 15 too with ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import psycopg
import pytest

from tests.server import clients

target = clients.target

pytestmark = pytest.mark.skipif(shutil.which("pgbench") is None, reason="no pgbench")


def pgbench(target: clients.Target, *args: str) -> str:
    out = subprocess.run(
        ["pgbench", "-h", target.host, "-p", str(target.port), "-U", target.user, *args,
         target.dbname],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PGPASSWORD": target.password},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def processed(report: str) -> int:
    failed = re.search(r"number of failed transactions: (\d+)", report)
    assert failed is None or failed.group(1) == "0", report
    return int(re.search(r"number of transactions actually processed: (\d+)", report).group(1))


def assert_books_balance(target: clients.Target, transactions: int) -> None:
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        history = conn.execute("SELECT count(*), coalesce(sum(delta), 0) FROM pgbench_history")
        count, delta = history.fetchone()
        totals = [conn.execute(f"SELECT sum({col}) FROM pgbench_{table}").fetchone()[0]
                  for table, col in (("accounts", "abalance"), ("tellers", "tbalance"),
                                     ("branches", "bbalance"))]  # fmt: skip
        sizes = [conn.execute(f"SELECT count(*) FROM pgbench_{t}").fetchone()[0]
                 for t in ("accounts", "tellers", "branches")]  # fmt: skip
    assert sizes == [100_000, 10, 1]
    assert count == transactions
    assert totals == [delta, delta, delta]


def test_pgbench_init_then_tpcb_runs_keep_the_books_balanced(target):
    pgbench(target, "-i", "-s", "1")
    assert_books_balance(target, 0)
    done = processed(pgbench(target, "-T", "3"))  # the default script, one client
    assert done > 0
    assert_books_balance(target, done)
    # -n: keep the history (the default run starts by truncating it)
    more = processed(pgbench(target, "-n", "-c", "2", "-T", "3", "--max-tries", "50"))
    assert more > 0
    assert_books_balance(target, done + more)
