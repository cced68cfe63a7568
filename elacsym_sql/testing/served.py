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
    ready: str  # the line it printed on stdout once listening

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
    """Start `elacsym --data root/data serve --listen 127.0.0.1:<free> --workers 1 --http off
    *options`; wait for its start-up line; stop it with SIGTERM (then SIGKILL) afterwards."""
    (port,) = free_ports(1)
    log = root / f"serve-{port}.log"
    environment = dict(
        os.environ,
        ELACSYM_CACHE_DIR=str(root / "cache"),
        ELACSYM_INDEXER="false",
        **(env or {}),
    )
    # One process unless asked (--workers defaults to the cores): `rss_mb` and the log are
    # that process's, not a supervisor's that serves nothing. No HTTP API unless asked: its
    # default port may be taken (serve would warn on stderr that it left HTTP off).
    given = {o.split("=")[0] for o in options if o.startswith("--")}
    defaults = [x for o in (("--workers", "1"), ("--http", "off")) if o[0] not in given for x in o]
    command = [sys.executable, "-m", "elacsym_sql.cli", "--data", str(root / "data"), "serve",
               "--listen", f"127.0.0.1:{port}", *defaults, *options]  # fmt: skip
    with open(log, "wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, env=environment)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        if "listening on" not in line:
            proc.kill()
            raise RuntimeError(f"elacsym serve did not start: {line}{log.read_text()}")
        yield Served(port, proc, log, line)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
