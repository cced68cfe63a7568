"""`elacsym serve` as users run it: a subprocess with the wire port and the HTTP API on
free ports over one local data directory, shared by a test module.

`served` yields a Served (http_port, wire_port, data); `http` is a Client for its HTTP API.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.http.client import Client, free_port


@dataclass(frozen=True)
class Served:
    http_port: int
    wire_port: int
    data: Path

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.wire_port} user=tester dbname=elacsym"


def start_serve(root: Path, *extra: str) -> tuple[subprocess.Popen[str], Served]:
    http_port, wire_port = free_port(), free_port()
    env = dict(os.environ, ELACSYM_CACHE_DIR=str(root / "cache"), ELACSYM_INDEXER="false")
    # One process: these tests compare SQL with HTTP answers and read /metrics, which are
    # per worker under --workers N (tests/server/test_workers.py serves two).
    env.setdefault("ELACSYM_WORKERS", "1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "elacsym_sql.cli", "--data", str(root / "data"), "serve",
         "--listen", f"127.0.0.1:{wire_port}", "--http", f"127.0.0.1:{http_port}", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    line = proc.stdout.readline() if proc.stdout else ""
    if f"HTTP API on 127.0.0.1:{http_port}" not in line:
        proc.kill()
        pytest.fail(f"elacsym serve did not start: {line!r} {proc.stderr.read()!r}")
    return proc, Served(http_port, wire_port, root / "data")


def stop_serve(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    proc, found = start_serve(tmp_path_factory.mktemp("served"))
    try:
        yield found
    finally:
        stop_serve(proc)


@pytest.fixture(scope="module")
def http(served: Served) -> Client:
    return Client(served.http_port)
