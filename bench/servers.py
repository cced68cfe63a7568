"""The servers bench/wire.py measures, and the state they serve: `elacsym serve` as a child
process over a folded data directory, and a throwaway PostgreSQL 15 cluster holding the same
`items` rows.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
from common import DIM, arrow_vectors, best_time

import elacsym_sql
from elacsym_sql.testing.s3servers import free_ports

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"  # the unprivileged OS user the cluster runs as when we are root
ELACSYM_ITEMS = (
    "INSERT INTO items SELECT range AS id, 'item ' || lpad(range::VARCHAR, 7, '0') AS title, "
    "(range % 100000) / 100.0 AS price FROM range({n})"
)
PG_ITEMS = (
    "INSERT INTO items SELECT g, 'item ' || lpad(g::text, 7, '0'), (g % 100000) / 100.0::float8 "
    "FROM generate_series(0, {last}) g"
)


def wait_for(
    ready: Callable[[], bool], what: str, timeout: float, alive: Callable[[], bool]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"{what} exited while starting")
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not accept connections within {timeout:.0f} s")


# -- the servers -----------------------------------------------------------------------------


class ElacsymServer:
    """`elacsym serve` over `data` on a free port, as a child process of ours."""

    def __init__(self, data: Path, cache: Path, log: Path, workers: int = 1) -> None:
        """`workers`: `serve --workers` (1: one process, whose CPU `pid` measures)."""
        (self.port,) = free_ports(1)
        self.log = log
        env = {**os.environ, "ELACSYM_CACHE_DIR": str(cache)}
        cmd = [
            sys.executable,
            "-m",
            "elacsym_sql.cli",
            "--data",
            str(data),
            "serve",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--http",
            "off",  # never the default port 3000: another server may hold it
        ]
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(
                lambda: bool(psycopg.connect(self.dsn, connect_timeout=2).close() or True),
                "elacsym serve",
                60,
                lambda: self.proc.poll() is None,
            )
        except RuntimeError:
            self.stop()
            print(log.read_text(errors="replace"), file=sys.stderr)
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def processes(self) -> list[int]:
        """The server's processes: the parent and its workers (when --workers > 1)."""
        pid = self.proc.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [pid, *map(int, children)]

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=bench dbname=elacsym"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class PostgresCluster:
    """A throwaway PostgreSQL 15 cluster under `where` on a free port. Postgres refuses to
    run as root: as root, every pg command runs as PG_USER through runuser."""

    def __init__(self, where: Path) -> None:
        (self.port,) = free_ports(1)
        self.where = where
        self.pgdata = where / "pgdata"
        self.started = False
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam(PG_USER)  # KeyError: no such user
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root and runuser is not installed")
            self.as_user = ["runuser", "-u", PG_USER, "--"]
            # The temporary directory is root's (0700): let the postgres user reach its own.
            os.chmod(where.parent, 0o711)
            where.mkdir(exist_ok=True)
            os.chown(where, user.pw_uid, user.pw_gid)
        else:
            where.mkdir(exist_ok=True)
        self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )
        options = (
            f"-p {self.port} -k {where} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=512MB"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-l",
            str(where / "log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self.started = True

    def _run(self, program: str, *args: str) -> None:
        cmd = [*self.as_user, str(PG_BIN / program), *args]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {(done.stderr or done.stdout).strip()}")

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def stop(self) -> None:
        if self.started:
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")
            self.started = False


def start_postgres(where: Path, rows: int) -> tuple[PostgresCluster | None, str | None]:
    """(cluster with `items` loaded, None), or (None, why it could not start)."""
    if not (PG_BIN / "postgres").exists():
        return None, f"no PostgreSQL 15 at {PG_BIN}"
    try:
        cluster = PostgresCluster(where)
    except (RuntimeError, KeyError, OSError) as exc:
        return None, f"PostgreSQL 15 did not start: {exc}"
    try:
        with psycopg.connect(cluster.dsn, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE items (id BIGINT PRIMARY KEY, title TEXT, price DOUBLE PRECISION)"
            )
            conn.execute(PG_ITEMS.format(last=rows - 1))
            conn.execute("VACUUM ANALYZE items")
    except BaseException:
        cluster.stop()
        raise
    return cluster, None


# -- the rows elacsym serves -----------------------------------------------------------------


def load_elacsym(data: Path, cache: Path, rows: int, base: np.ndarray) -> dict[str, float]:
    """Both namespaces, written and folded through an embedded connection (closed after)."""
    con = elacsym_sql.connect(str(data), cache_dir=str(cache), indexer=False)
    out: dict[str, float] = {}
    try:
        con.execute("CREATE TABLE items (id BIGINT PRIMARY KEY, title TEXT, price DOUBLE)")
        out["items_insert_s"], _ = best_time(lambda: con.execute(ELACSYM_ITEMS.format(n=rows)))
        out["items_fold_s"], _ = best_time(lambda: con.database.engine.fold("items"))
        con.execute(
            f"CREATE TABLE docs (id BIGINT PRIMARY KEY, emb FLOAT[{DIM}]) WITH (metric = 'cosine')"
        )
        table = pa.table(
            {"id": pa.array(np.arange(len(base), dtype=np.int64)), "emb": arrow_vectors(base)}
        )
        con.register("incoming", table)
        out["docs_insert_s"], _ = best_time(
            lambda: con.execute("INSERT INTO docs SELECT * FROM incoming")
        )
        con.unregister("incoming")
        out["docs_fold_s"], _ = best_time(lambda: con.database.engine.fold("docs"))
        for name in ("items", "docs"):
            segments = con.database.engine.namespace(name).snapshot().manifest.segments
            out[f"{name}_segments"] = len(segments)
        out["docs_hnsw"] = all("hnsw:emb" in s.indexes for s in segments)
    finally:
        con.close()
    return out
