"""Statement failure rate against object-store fault rate, per fault kind and retry policy.

    python bench/storage_faults.py [--rates 0.1,0.2,0.3] [--statements 100] [--kinds all]

A moto S3 server (child process) behind the fault-injecting proxy of
elacsym_sql.testing.faulty_s3. For each fault kind (and all kinds mixed), fault rate and
retry policy: a fresh bucket and connection, CREATE TABLE on a healthy store, then
`--statements` statements through the flaky proxy, alternating a blind INSERT of a new id
and a strong `SELECT id FROM t` checked against the acknowledged ids. Counted: failed
statements (by SQLSTATE; "escaped" when the error was not an elacsym_sql error) and wrong
answers (a read missing an acknowledged row, or showing one no statement wrote).

Policies (`--policies`):
- "before": S3Store as it was before issue 9 (loaded from git, commit d8be795^): botocore
  'standard' mode, 5 retries under its shared retry quota, no deadline, and read-back of a
  conditional write only after botocore's own retry failed its precondition.
- "after": S3Store now: botocore retries off, ours within storage_deadline_seconds
  (default 30 s), read-back of every unconfirmed conditional write.
- "timeout" (optional): S3Store now, the statements sent over psycopg to a server on the
  same database with `SET statement_timeout` = `--statement-timeout` ms: retries also end
  with the statement (decision 0044), so a statement fails (57014) once its faults outlast
  its timeout.
- "boto3-default" (optional; slow): S3Store now with botocore's default (legacy) retries,
  5 attempts with backoff up to ~16 s, and a deadline of 0 (one attempt of ours).

Prints a table and writes bench/results/storage_faults.json.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import subprocess
import tempfile
import time
import types
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import common
import psycopg

import elacsym_sql
from elacsym_sql.errors import ElacsymError
from elacsym_sql.server import BackgroundServer
from elacsym_sql.storage import ObjectStore
from elacsym_sql.storage.s3 import S3Store
from elacsym_sql.testing.faulty_s3 import FAULTS, FaultyS3Proxy
from elacsym_sql.testing.s3servers import S3Server, moto_server

BEFORE = "d8be795^"  # the last commit with the previous S3Store


def previous_s3_store() -> type[ObjectStore]:
    """The S3Store class of commit BEFORE, compiled from git as a module of this package."""
    path = "elacsym_sql/storage/s3.py"
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:{path}"],
        cwd=common.REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("elacsym_sql.storage._s3_before")
    module.__package__ = "elacsym_sql.storage"  # its relative imports resolve here
    exec(compile(source, f"{BEFORE}:{path}", "exec"), module.__dict__)
    return module.S3Store


@contextlib.contextmanager
def policy(name: str) -> Iterator[float]:
    """Engines opened inside use the store of policy `name`; yields its deadline."""
    if name in ("after", "timeout"):
        yield 30.0
    elif name == "boto3-default":
        with mock.patch.object(S3Store, "_botocore_retries", {"mode": "legacy"}):
            yield 0.0
    elif name == "before":
        old = previous_s3_store()
        with mock.patch("elacsym_sql.engine.engine.open_store", lambda s: old(s.data, s)):
            yield 0.0  # unused by the old store
    else:
        raise ValueError(f"unknown policy {name!r}")


Run = Callable[[str, list[Any]], list[tuple[Any, ...]]]  # a statement -> its rows


@contextlib.contextmanager
def statements(con: elacsym_sql.Connection, name: str, timeout_ms: int) -> Iterator[Run]:
    """How the workload runs a statement: embedded, or (policy "timeout") over psycopg."""
    if name != "timeout":

        def embedded(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
            cur = con.execute(sql, params)
            return cur.fetchall() if cur.description else []

        yield embedded
        return
    with (
        BackgroundServer(con.database) as server,
        psycopg.connect(
            f"host=127.0.0.1 port={server.port} user=bench dbname=e", autocommit=True
        ) as wire,
    ):
        wire.execute(f"SET statement_timeout = {timeout_ms}")

        def over_the_wire(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
            cur = wire.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

        yield over_the_wire


def run_cell(
    s3: S3Server,
    cache: Path,
    kinds: tuple[str, ...],
    rate: float,
    name: str,
    n: int,
    timeout_ms: int,
) -> dict[str, Any]:
    """One workload; failures by SQLSTATE, wrong answers, faults injected, seconds."""
    bucket = f"b-{uuid.uuid4().hex[:16]}"
    s3.client().create_bucket(Bucket=bucket)
    failed: Counter[str] = Counter()
    wrong = 0
    acked: set[int] = set()
    maybe: set[int] = set()  # 40003: may or may not have been written
    with (
        FaultyS3Proxy(s3.endpoint, kinds=kinds, seed=n, max_delay=0.05) as proxy,
        policy(name) as deadline,
    ):
        settings = {
            **s3.connect_kwargs(),
            "s3_endpoint": proxy.endpoint,
            "cache_dir": str(cache / bucket),
            "indexer": False,
            "storage_deadline_seconds": deadline,
        }
        con = elacsym_sql.connect(f"s3://{bucket}/root", **settings)
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT)")
        with statements(con, name, timeout_ms) as run:
            proxy.rate = rate
            start = time.perf_counter()
            for i in range(n):
                try:
                    if i % 2 == 0:
                        run("INSERT INTO t VALUES (?, ?)", [i, i])
                        acked.add(i)
                    else:
                        seen = {row[0] for row in run("SELECT id FROM t", [])}
                        wrong += not (acked <= seen <= acked | maybe)
                except (ElacsymError, psycopg.Error) as exc:
                    failed[exc.sqlstate or "escaped"] += 1
                    if exc.sqlstate == "40003":  # may or may not have been written
                        maybe.add(i)
                except Exception:  # a third-party error that escaped: what this measures
                    failed["escaped"] += 1
            seconds = time.perf_counter() - start
        con.close()
    return {
        "statements": n,
        "failed": sum(failed.values()),
        "by_sqlstate": dict(failed),
        "wrong": wrong,
        "faults": sum(proxy.injected.values()),
        "requests": proxy.requests,
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="0.1,0.2,0.3")
    parser.add_argument("--statements", type=int, default=100)
    parser.add_argument("--kinds", default="all", help="comma-separated fault kinds, or all")
    parser.add_argument("--policies", default="before,after", help="also: timeout, boto3-default")
    parser.add_argument(
        "--statement-timeout",
        type=int,
        default=1000,
        help="statement_timeout in ms of policy 'timeout' (default 1000)",
    )
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    policies = args.policies.split(",")
    kinds = list(FAULTS) if args.kinds == "all" else args.kinds.split(",")
    groups = [(k, (k,)) for k in kinds] + [("mixed", tuple(kinds))]

    rows = []
    with tempfile.TemporaryDirectory(prefix="elacsym-faults-") as tmp, moto_server() as s3:
        for name, group in groups:
            for rate in rates:
                cell = functools.partial(
                    run_cell,
                    s3,
                    Path(tmp),
                    group,
                    rate,
                    n=args.statements,
                    timeout_ms=args.statement_timeout,
                )
                cells = {p: cell(name=p) for p in policies}
                rows.append({"kind": name, "rate": rate, **cells})
                print(_line(rows[-1], policies), flush=True)

    print("\nfailed statements in % (escaped: not elacsym_sql errors) by retry policy;")
    print("wrong: reads that lost an acknowledged row or showed a row whose INSERT failed,")
    print(f"per policy; seconds: how long the '{policies[-1]}' run took")
    print(_header(policies))
    for row in rows:
        print(_line(row, policies))
    common.write_results(
        common.RESULTS_DIR / "storage_faults.json",
        {
            "machine": common.machine_basics(),
            "code": common.code_state(common.REPO, "elacsym_sql/storage"),
            "statements": args.statements,
            "statement_timeout_ms": args.statement_timeout,
            "rows": rows,
        },
    )


def _header(policies: list[str]) -> str:
    cols = "".join(f"{p:>16}" for p in policies)
    return f"{'fault':<13}{'rate':>5}{cols}{'wrong':>9}{'seconds':>9}"


def _line(row: dict[str, Any], policies: list[str]) -> str:
    """Per policy: failed statements in % (of which escaped, not elacsym_sql errors)."""
    cells = ""
    for p in policies:
        c = row[p]
        escaped = c["by_sqlstate"].get("escaped", 0)
        cells += f"{100 * c['failed'] / c['statements']:>9.0f}% ({escaped:>2})"
    wrong = "/".join(str(row[p]["wrong"]) for p in policies)
    seconds = row[policies[-1]]["seconds"]
    return f"{row['kind']:<13}{row['rate']:>5.2f}{cells}{wrong:>9}{seconds:>9.1f}"


if __name__ == "__main__":
    main()
