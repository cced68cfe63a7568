"""`elacsym serve`: the start-up line, a client, and a clean exit on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import psycopg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_answers_and_stops_on_sigterm(tmp_path):
    port = _free_port()
    env = dict(os.environ, ELACSYM_CACHE_DIR=str(tmp_path / "cache"), ELACSYM_INDEXER="false")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "elacsym_sql.cli",
            "--data",
            str(tmp_path / "data"),
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--http",
            "off",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        assert f"listening on 127.0.0.1:{port}" in line
        assert str(tmp_path / "data") in line and "auth trust" in line
        with psycopg.connect(f"host=127.0.0.1 port={port}", autocommit=True) as conn:
            conn.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
            conn.execute("INSERT INTO t VALUES (1, 'x')")
            assert conn.execute("SELECT v FROM t").fetchone() == ("x",)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
