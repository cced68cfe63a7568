"""How `elacsym serve` places the HTTP API: the original's environment variables, a busy
address given explicitly, and `--http off`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from tests.http.client import Client, free_port


def _serve(tmp_path, env_extra: dict[str, str], *flags: str) -> subprocess.Popen[str]:
    env = dict(os.environ, ELACSYM_CACHE_DIR=str(tmp_path / "cache"), ELACSYM_INDEXER="false")
    env.update(env_extra)
    return subprocess.Popen(
        [sys.executable, "-m", "elacsym_sql.cli", "--data", str(tmp_path / "data"), "serve",
         "--listen", f"127.0.0.1:{free_port()}", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def _stop(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_originals_variables_place_the_http_api(tmp_path):
    port = free_port()
    proc = _serve(tmp_path, {"ELACSYM_SERVER_HOST": "127.0.0.1", "ELACSYM_SERVER_PORT": str(port)})
    try:
        line = proc.stdout.readline()
        assert f"HTTP API on 127.0.0.1:{port}" in line, line
        assert Client(port).call("GET", "/health")[1]["status"] == "healthy"
    finally:
        assert _stop(proc) == 0


def test_a_busy_explicit_address_fails_start_up(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve(tmp_path, {}, "--http", f"127.0.0.1:{port}")
        code = proc.wait(timeout=60)
        assert code == 1 and f"cannot listen on 127.0.0.1:{port}" in proc.stderr.read()


def test_http_off(tmp_path):
    proc = _serve(tmp_path, {}, "--http", "off")
    try:
        assert "HTTP API off" in proc.stdout.readline()
    finally:
        assert _stop(proc) == 0
