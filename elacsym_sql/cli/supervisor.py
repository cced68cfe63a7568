"""`elacsym serve --workers N` (N > 1): the parent process. It binds the listen ports once and
starts N `elacsym serve` workers that all accept on those same sockets (inherited file
descriptors), replaces a worker that dies, and stops them all on SIGTERM/SIGINT. It opens
no database itself (decision 0078)."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from ..cluster import worker_id
from ..host import listening_socket
from ..server.logs import say
from .settings import Loaded
from .workers import ENV, WorkerSpec, check_workers

STOP_SECONDS = 90.0  # a worker finishes running statements (30 s) and its HTTP requests
QUICK_EXIT_SECONDS = 10.0  # a worker dying sooner after its start is restarted with backoff
MAX_BACKOFF_SECONDS = 30.0
PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])  # workers import this same code


class Worker:
    """One worker process and its restarts."""

    def __init__(
        self, index: int, count: int, argv: Sequence[str], fds: tuple[int, int | None, int]
    ) -> None:
        """`fds`: the shared wire and HTTP (None: off) listeners, the lifeline's read end."""
        self.index, self.count, self.argv = index, count, list(argv)
        self.pg_fd, self.http_fd, self.lifeline_fd = fds
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_fd: int | None = None
        self.started = 0.0
        self.backoff = 0.0
        self.restart_at: float | None = None

    def start(self) -> None:
        ready_r, ready_w = os.pipe()
        spec = WorkerSpec(
            self.index, self.count, self.pg_fd, self.http_fd, ready_w, self.lifeline_fd
        )
        env = dict(os.environ, **{ENV: spec.to_env()})
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_PARENT, env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "elacsym_sql.cli", *self.argv]
        try:
            self.proc = subprocess.Popen(command, env=env, pass_fds=spec.fds)
        finally:
            os.close(ready_w)  # the worker holds it now; its exit closes it (end of file)
        self.ready_fd, self.started, self.restart_at = ready_r, time.monotonic(), None

    def wait_ready(self, stop: threading.Event) -> dict[str, object] | None:
        """The worker's ready line, or None when it exited first (or we are stopping)."""
        assert self.ready_fd is not None
        data = b""
        while not stop.is_set():
            readable, _, _ = select.select([self.ready_fd], [], [], 0.5)
            if not readable:
                continue
            chunk = os.read(self.ready_fd, 4096)
            if not chunk:
                break
            data += chunk
        os.close(self.ready_fd)
        self.ready_fd = None
        return json.loads(data) if data.endswith(b"\n") else None

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def schedule_restart(self) -> float:
        """When to start it again: at once after a long run, later after each quick exit."""
        quick = time.monotonic() - self.started < QUICK_EXIT_SECONDS
        self.backoff = min(MAX_BACKOFF_SECONDS, max(1.0, 2 * self.backoff)) if quick else 0.0
        self.restart_at = time.monotonic() + self.backoff
        return self.backoff


def supervise(loaded: Loaded, argv: Sequence[str], http_explicit: bool) -> int:
    """Run N workers until SIGTERM/SIGINT; 2 on a bad setting, 1 when a port cannot be bound
    or a worker cannot start."""
    options, settings, count = loaded.server, loaded.settings, loaded.server.workers
    fmt = options.log_format
    try:
        check_workers(loaded)
    except ValueError as exc:
        say(fmt, "bad_setting", str(exc), trouble=True)
        return 2
    host, port = options.address()
    try:
        pg = listening_socket(host, port)
    except OSError as exc:
        say(fmt, "cannot_listen", f"cannot listen on {host}:{port}: {exc}", trouble=True)
        return 1
    http, http_note = _http_listener(options.http_address(), http_explicit, fmt)
    if http is False:
        return 1
    lifeline_r, lifeline_w = os.pipe()  # never written: workers watch it for the end of file
    fds = (pg.fileno(), http.fileno() if isinstance(http, socket.socket) else None, lifeline_r)
    workers = [Worker(i, count, argv, fds) for i in range(count)]
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        for worker in workers:
            worker.start()
        if any(worker.wait_ready(stop) is None for worker in workers):
            if not stop.is_set():
                say(fmt, "worker_failed", "a worker did not start (see above)", trouble=True)
                return 1
            return 0
        members = ", ".join(worker_id(settings.node_id, i) for i in range(count))
        say(
            fmt,
            "listening",
            f"elacsym_sql listening on {host}:{pg.getsockname()[1]} (data {settings.data}, "
            f"auth {options.auth}, tls {'on' if options.tls_cert else 'off'}), {http_note}, "
            f"{count} workers: cluster members {members}",
            host=host,
            port=pg.getsockname()[1],
            workers=count,
        )
        _watch(workers, stop, fmt)
        say(fmt, "shutting_down", "elacsym_sql shutting down: finishing running statements")
        return 0
    finally:
        _stop_all(workers)
        os.close(lifeline_w)


def _http_listener(
    address: tuple[str, int] | None, explicit: bool, log_format: str
) -> tuple[socket.socket | bool | None, str]:
    """The shared HTTP listener and the start-up line's note; False: a port given with
    --http is taken (the error was printed). A busy default port leaves HTTP off."""
    if address is None:
        return None, "HTTP API off"
    try:
        sock = listening_socket(*address)
    except OSError as exc:
        where = f"{address[0]}:{address[1]}"
        what = f"cannot listen on {where}" if explicit else f"HTTP API off: {where}"
        say(log_format, "cannot_listen" if explicit else "http_off", f"{what}: {exc}", trouble=True)
        return (False if explicit else None), "HTTP API off"
    return sock, f"HTTP API on {address[0]}:{sock.getsockname()[1]}"


def _watch(workers: list[Worker], stop: threading.Event, log_format: str) -> None:
    """Replace workers that exit, until told to stop."""
    while not stop.wait(0.5):
        now = time.monotonic()
        for worker in workers:
            code = worker.exited()
            if code is None or worker.ready_fd is not None:
                continue
            if worker.restart_at is None:
                delay = worker.schedule_restart()
                pid = worker.proc.pid  # type: ignore[union-attr]
                say(
                    log_format,
                    "worker_exited",
                    f"worker {worker.index} (pid {pid}) exited with {code}; "
                    f"starting it again in {delay:.0f} s",
                    trouble=True,
                    worker=worker.index,
                    pid=pid,
                    code=code,
                )
            elif now >= worker.restart_at:
                worker.start()
                announce = (worker, stop, log_format)
                threading.Thread(target=_announce, args=announce, daemon=True).start()


def _announce(worker: Worker, stop: threading.Event, log_format: str) -> None:
    if worker.wait_ready(stop) is not None:
        pid = worker.proc.pid  # type: ignore[union-attr]
        message = f"worker {worker.index} (pid {pid}) serving again"
        say(log_format, "worker_serving", message, trouble=True, worker=worker.index, pid=pid)


def _stop_all(workers: list[Worker]) -> None:
    """SIGTERM every worker (they finish running statements), SIGKILL what is left."""
    running = [w.proc for w in workers if w.proc is not None and w.proc.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for proc in running:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
