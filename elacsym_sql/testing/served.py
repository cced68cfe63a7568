"""`elacsym serve` as a child process on a free loopback port, with its memory (RSS) and
its log at hand: for tests and benchmarks that measure the server, not the client."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .s3servers import free_ports


@dataclass
class Served:
    port: int
    process: subprocess.Popen[bytes]
    log: Path  # the server's stderr

    def rss_mb(self) -> float:
        """Resident memory of the server process now, in MiB."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS line")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serve(root: Path, *options: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """Start `elacsym --data root/data serve --listen 127.0.0.1:<free> --http off *options`;
    wait for its start-up line; stop it with SIGTERM (then SIGKILL) afterwards."""
    (port,) = free_ports(1)
    log = root / f"serve-{port}.log"
    environment = dict(
        os.environ,
        ELACSYM_CACHE_DIR=str(root / "cache"),
        ELACSYM_INDEXER="false",
        **(env or {}),
    )
    # No HTTP API unless asked: its default port may be taken (then serve says so on stderr,
    # and a JSON log is no longer all JSON), and what is measured should not depend on it.
    http = () if any(o.startswith("--http") for o in options) else ("--http", "off")
    command = [sys.executable, "-m", "elacsym_sql.cli", "--data", str(root / "data"), "serve",
               "--listen", f"127.0.0.1:{port}", *http, *options]  # fmt: skip
    with open(log, "wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, env=environment)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        if "listening on" not in line:
            proc.kill()
            raise RuntimeError(f"elacsym serve did not start: {line}{log.read_text()}")
        yield Served(port, proc, log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
