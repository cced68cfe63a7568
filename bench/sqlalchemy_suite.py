"""SQLAlchemy's own dialect compliance suite (sqlalchemy/testing/suite, shipped inside
SQLAlchemy) against PostgreSQL 15 and against `elacsym serve`, side by side.

    PYTHONPATH=. python bench/sqlalchemy_suite.py [--target pg15 --target elacsym]
        [-k EXPR] [--markdown PATH] [--json PATH] [--timeout 3600]

- Both run the stock `postgresql+psycopg` dialect (psycopg 3) with SQLAlchemy's generic
  requirements class (`SuiteRequirements`: what to run is decided from the dialect, the
  same for both), through pytest and SQLAlchemy's pytest plugin, configured by
  bench/sqlalchemy_suite_harness/ (the only deviation from the stock PostgreSQL
  provisioning: a refused `CREATE EXTENSION citext/hstore` is reported, not fatal - no
  suite test uses them).
- pg15: the PostgreSQL 15 server on 127.0.0.1:5432 (user/password postgres, override with
  --pg-url); the database `elacsym_sa_suite` is dropped and created for the run, with the
  schemas `test_schema` and `test_schema_2` the suite's cross-schema tests use.
- elacsym: `python -m elacsym_sql.cli --data D serve` on a free port over a temporary
  directory (default settings, background indexer on), the same two schemas created first.
- Each test gets one outcome (see sqlalchemy_suite_report.read_run); "of pg15's passes" is
  how many of the tests PostgreSQL 15 passes pass on the other target too.
- Failures are grouped by exception type + SQLSTATE + normalized first message line.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from common import REPO, RESULTS_DIR, code_state
from servers import ElacsymServer
from sqlalchemy_suite_report import Run, failure_categories, format_table, markdown, read_run
from sqlalchemy_suite_report import table as outcome_table

HARNESS = Path(__file__).resolve().parent / "sqlalchemy_suite_harness"
PG_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432"
PG_DATABASE = "elacsym_sa_suite"
SCHEMAS = ("test_schema", "test_schema_2")


def libpq_dsn(url: str) -> str:
    """The SQLAlchemy URL's connection as a libpq URI."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_schemas(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for schema in SCHEMAS:
            try:
                conn.execute(f"CREATE SCHEMA {schema}")
            except psycopg.Error as err:
                print(f"  CREATE SCHEMA {schema}: {err.sqlstate} {err}", file=sys.stderr)


@contextlib.contextmanager
def pg15_database(base_url: str) -> Iterator[str]:
    """A fresh database on the PostgreSQL server; its SQLAlchemy URL."""
    with psycopg.connect(libpq_dsn(base_url) + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DATABASE}")
    url = f"{base_url}/{PG_DATABASE}"
    create_schemas(libpq_dsn(url))
    yield url


@contextlib.contextmanager
def elacsym_database(workdir: Path) -> Iterator[str]:
    server = ElacsymServer(workdir / "data", workdir / "cache", workdir / "server.log")
    try:
        create_schemas(server.dsn)
        yield f"postgresql+psycopg://tester@127.0.0.1:{server.port}/elacsym"
    finally:
        server.stop()


def run_suite(url: str, report: Path, log: Path, pytest_args: list[str], timeout: float) -> Run:
    """Run the suite against `url`; its outcomes (cut short after `timeout` seconds)."""
    cmd = [sys.executable, "-m", "pytest", "-c", str(HARNESS / "setup.cfg"),
           "--rootdir", str(HARNESS), "--dburi", url, "-q", *pytest_args]  # fmt: skip
    env = {**os.environ, "SA_SUITE_REPORT": str(report)}
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=HARNESS, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            print(f"  stopped after {timeout:.0f} s", file=sys.stderr)
    return read_run(report, time.monotonic() - started)


def run_target(name: str, args: argparse.Namespace, workdir: Path, out: Path) -> Run:
    where = workdir / name
    where.mkdir()
    database = pg15_database(args.pg_url) if name == "pg15" else elacsym_database(where)
    pytest_args = ["-k", args.k] if args.k else []
    with database as url:
        print(f"{name}: {url}", file=sys.stderr)
        run = run_suite(url, where / "outcomes.jsonl", out / f"{name}.log", pytest_args,
                        args.timeout)  # fmt: skip
    print(f"  {dict(run.counts())} in {run.seconds:.0f} s, log {out / f'{name}.log'}",
          file=sys.stderr)  # fmt: skip
    return run


def header(args: argparse.Namespace) -> str:
    versions = ", ".join(
        f"{p} {importlib.metadata.version(p)}" for p in ("sqlalchemy", "psycopg", "pytest")
    )
    state = code_state(REPO, "elacsym_sql", "bench")
    dirty = f" (modified: {', '.join(state['modified'])})" if state["modified"] else ""
    command = "PYTHONPATH=. python bench/sqlalchemy_suite.py " + " ".join(sys.argv[1:])
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"SQLAlchemy compliance suite, {when}, commit {state['commit']}{dirty}; {versions}.\n"
        f"Command: `{command.strip()}`"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", action="append", choices=("pg15", "elacsym"),
                        help="run against these (default both, pg15 first)")  # fmt: skip
    parser.add_argument("-k", help="pytest -k expression: run a subset")
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL server, no database")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per target")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "sqlalchemy_suite",
                        help="directory for the logs and the summary")  # fmt: skip
    parser.add_argument("--markdown", type=Path, help="summary path (default OUT/summary.md)")
    parser.add_argument("--json", type=Path, help="outcomes path (default OUT/outcomes.json)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, Run] = {}
    with tempfile.TemporaryDirectory(prefix="sa-suite-") as tmp:
        for name in args.target or ["pg15", "elacsym"]:
            runs[name] = run_target(name, args, Path(tmp), args.out)
    print(format_table(outcome_table(runs)))
    for name, run in runs.items():
        if name != "pg15":
            print(f"\n{name}: failures and errors by category (tests, classes, category)")
            for cat, n, classes, _example in failure_categories(run):
                print(f"{n:6d} {classes:4d}  {cat}")
    summary = markdown(runs, header(args))
    (args.markdown or args.out / "summary.md").write_text(summary)
    outcomes = {name: {"finished": run.finished, "seconds": run.seconds,
                       "counts": dict(run.counts()),
                       "tests": {k: [t.outcome, t.message] for k, t in run.tests.items()}}
                for name, run in runs.items()}  # fmt: skip
    (args.json or args.out / "outcomes.json").write_text(json.dumps(outcomes, indent=1))
    return 0 if all(run.finished for run in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
