"""Cluster members as `elacsym serve` processes on free loopback ports, sharing the test's
storage root (tests/conftest.py's make_settings)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from elacsym_sql.cluster import owner
from elacsym_sql.config import Settings

ROOT = Path(__file__).resolve().parents[2]
# Heartbeats fast enough that a dead member is seen down within seconds.
FAST = {"heartbeat_seconds": 0.5, "heartbeat_ttl_seconds": 3.0}
# The object stores members share in these tests: a moto bucket, and SeaweedFS (marked).
BACKENDS = ["s3", pytest.param("seaweedfs", marks=pytest.mark.seaweedfs)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Node:
    node_id: str
    proc: subprocess.Popen[str]
    pg_port: int
    http_port: int

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(f"host=127.0.0.1 port={self.pg_port}", autocommit=True)

    def sql(self, text: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            cur = conn.execute(text, params)
            return cur.fetchall() if cur.description else []

    def error(self, text: str) -> tuple[str | None, str]:
        """(SQLSTATE, message) of a statement that fails."""
        try:
            self.sql(text)
        except psycopg.Error as exc:
            return exc.sqlstate, exc.diag.message_primary or ""
        raise AssertionError(f"{text!r} did not fail")

    def http(self, path: str) -> Any:
        return self.call("GET", path)[1]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, JSON answer) of an HTTP API request."""
        data = None if body is None else json.dumps(body).encode()
        url = f"http://127.0.0.1:{self.http_port}{path}"
        req = urllib.request.Request(url, data, method=method)
        req.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=120) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def metric(self, name: str) -> float:
        """A sample of this node's /metrics, e.g. 'elacsym_wal_appends_total{result="committed"}'
        (0 when absent)."""
        url = f"http://127.0.0.1:{self.http_port}/metrics"
        with urllib.request.urlopen(url, timeout=30) as answer:
            for line in answer.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[-1])
        return 0.0

    def members(self) -> dict[str, tuple[bool, int]]:
        """node_id -> (live, namespaces owned), as this node sees the cluster."""
        found = self.sql("SELECT node_id, live, namespaces FROM elacsym_cluster()")
        return {n: (live, owned) for n, live, owned in found}

    def owners(self, names: list[str]) -> dict[str, str]:
        """The owner of each of `names`, as this node computes it."""
        return dict(self.sql("SELECT n, elacsym_owner(n) FROM unnest(%s::text[]) AS t(n)", [names]))

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.proc.send_signal(sig)
        if sig == signal.SIGKILL:
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def elacsym_env(settings: Settings, cache_dir: Path, **values: Any) -> dict[str, str]:
    """The environment of an `elacsym` process on the test's root (its storage settings,
    `cache_dir`, then `values`), importing this checkout, with no ELACSYM_* of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELACSYM_")}
    values = {
        "data": settings.data,
        "s3_endpoint": settings.s3_endpoint,
        "s3_region": settings.s3_region,
        "s3_access_key_id": settings.s3_access_key_id,
        "s3_secret_access_key": settings.s3_secret_access_key,
        "cache_dir": str(cache_dir),
    } | values
    env |= {f"ELACSYM_{k.upper()}": str(v) for k, v in values.items() if v is not None}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def start_node(settings: Settings, node_id: str, cache_dir: Path, **extra: Any) -> Node:
    """`elacsym serve --cluster` as `node_id`; returns once it is listening and a member."""
    pg_port, http_port = free_port(), free_port()
    # One process per member id (serve --workers N: tests/server/test_workers.py).
    member = {"node_id": node_id, "cluster": "true", "workers": 1}
    env = elacsym_env(settings, cache_dir / node_id, **(member | extra))
    log = cache_dir / f"{node_id}.log"  # a file: a pipe nobody reads could fill and block
    cache_dir.mkdir(parents=True, exist_ok=True)
    addresses = ["--listen", f"127.0.0.1:{pg_port}", "--http", f"127.0.0.1:{http_port}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "elacsym_sql.cli", "serve", *addresses],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env=env,
        cwd=ROOT,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if "listening on" not in line or f"cluster member {node_id}" not in line:
        proc.kill()
        proc.wait()
        raise AssertionError(f"{node_id} did not start: {line!r} {log.read_text()}")
    return Node(node_id, proc, pg_port, http_port)


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "") -> float:
    """Seconds until `condition()` held; fails after `timeout` (a bound for a loaded
    machine, not a measurement)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.2)
    return time.monotonic() - started


def owned_by(node_id: str, prefix: str, members: Sequence[str] = ("a", "b")) -> str:
    """The first of `<prefix>0`, `<prefix>1`, ... that `node_id` owns among `members`."""
    names = (f"{prefix}{i}" for i in itertools.count())
    return next(name for name in names if owner(name, list(members)) == node_id)


@contextlib.contextmanager
def a_and_b(settings: Settings, tmp_path: Path, **extra: Any) -> Iterator[tuple[Node, Node]]:
    """Members a and b (FAST heartbeats, and `extra`), given once a sees b; stopped after."""
    a = start_node(settings, "a", tmp_path, **(FAST | extra))
    try:
        b = start_node(settings, "b", tmp_path, **(FAST | extra))
        try:
            wait_for(lambda: a.members().keys() == {"a", "b"}, what="a sees b")
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()
