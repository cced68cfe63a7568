"""psql against a test server: one command, its output (the catalog tests' client)."""

from __future__ import annotations

import subprocess


def psql(port: int, command: str) -> str:
    out = subprocess.run(
        ["psql", "-X", "-h", "127.0.0.1", "-p", str(port), "-U", "tester", "-d", "elacsym",
         "-v", "ON_ERROR_STOP=1", "-c", command],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0 and "ERROR" not in out.stderr, out.stderr
    return out.stdout
