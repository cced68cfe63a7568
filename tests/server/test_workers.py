"""`elacsym serve --workers 2` (decision 0078): one parent, two worker processes accepting on
the same Postgres and HTTP ports, each a cluster member. Real clients (psycopg, urllib, a raw
CancelRequest) against separate processes over a local data directory."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.server import wire_client as w

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    proc: subprocess.Popen[str]
    pg_port: int
    http_port: int
    log: Path

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(f"host=127.0.0.1 port={self.pg_port}", autocommit=True)

    def workers(self) -> list[int]:
        """The worker processes' pids (the parent's children)."""
        pid = self.proc.pid
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def members(self, port: int | None = None) -> dict[str, dict[str, Any]]:
        """node_id -> its elacsym_cluster() row, as one worker sees them (the one at `port`,
        a private port; else whichever the shared port gives)."""
        dsn = f"host=127.0.0.1 port={port or self.pg_port}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.execute("SELECT * FROM elacsym_cluster()")
            names = [d.name for d in cur.description or []]
            return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def _start(tmp: Path, *extra: str, env: dict[str, str] | None = None) -> Served:
    log = tmp / "serve.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ELACSYM_")}
    environ |= {"ELACSYM_CACHE_DIR": str(tmp / "cache"), "ELACSYM_NODE_ID": "host"} | (env or {})
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "elacsym_sql.cli", "--data", str(tmp / "data"), "serve"]
    addresses = ["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"]
    proc = subprocess.Popen(
        [*command, *addresses, *extra],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env=environ,
        cwd=tmp,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if "listening on" not in line:
        proc.kill()
        proc.wait()
        raise AssertionError(f"did not start: {line!r} {log.read_text()}")
    pg, http = (int(a.split(":")[1].rstrip(",")) for a in line.split() if a.startswith("127."))
    return Served(proc, pg, http, log)


@contextlib.contextmanager
def two_workers(tmp: Path) -> Iterator[Served]:
    """`serve --workers 2`, once both workers see each other live."""
    s = _start(tmp, "--workers", "2")
    try:
        _wait(lambda: _settled(s, {"host-w0", "host-w1"}))
        yield s
    finally:
        if s.proc.poll() is None:
            s.proc.kill()  # the workers see their lifeline close and stop
            s.proc.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with two_workers(tmp_path) as s:
        yield s


def _settled(s: Served, workers: set[str]) -> bool:
    """Whether every worker sees every worker live (each learns of the others at its next
    heartbeat round, so one worker's view is not enough)."""
    found = s.members()
    if {n for n, m in found.items() if m["live"]} != workers:
        return False
    for node in workers:
        port = int(found[node]["pg_address"].rsplit(":", 1)[1])
        if {n for n, m in s.members(port).items() if m["live"]} != workers:
            return False
    return True


def _wait(condition: Any, timeout: float = 90.0) -> None:
    """A bound for a loaded machine, not a measurement."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def _worker_of(conn: psycopg.Connection[Any]) -> str:
    return conn.execute("SELECT node_id FROM elacsym_cluster() WHERE this_node").fetchone()[0]


def _connections_on_both(s: Served) -> dict[str, psycopg.Connection[Any]]:
    """One open connection on each worker, by member id, made through the shared port."""
    found: dict[str, psycopg.Connection[Any]] = {}
    spare = []
    for _ in range(60):
        conn = s.connect()
        node = _worker_of(conn)
        pid = conn.info.backend_pid  # from BackendKeyData, and as the session reports it
        assert conn.execute("SELECT pg_backend_pid()").fetchone() == (pid,)
        assert pid % 256 == int(node.rsplit("-w", 1)[1])  # the pid says the worker
        if node in found:
            spare.append(conn)
        else:
            found[node] = conn
        if len(found) == 2:
            break
    for conn in spare:
        conn.close()
    assert set(found) == {"host-w0", "host-w1"}, found
    return found


def _metric(address: str, name: str) -> float:
    """A sample of one worker's own /metrics (its private HTTP address)."""
    url = f"http://{address}/metrics?worker=self"
    with urllib.request.urlopen(url, timeout=30) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
    return 0.0


@pytest.mark.slow
def test_two_workers_share_the_ports_and_forward_writes(served: Served):
    conns = _connections_on_both(served)
    http_seen = set()
    for _ in range(60):  # each urlopen is a new connection to the shared HTTP port
        url = f"http://127.0.0.1:{served.http_port}/v1/cluster"
        with urllib.request.urlopen(url, timeout=30) as answer:
            http_seen.add(json.loads(answer.read())["node_id"])
        if len(http_seen) == 2:
            break
    assert http_seen == {"host-w0", "host-w1"}

    names = [f"t{i}" for i in range(8)]
    query = "SELECT n, elacsym_owner(n) FROM unnest(%s::text[]) AS t(n)"
    owners = dict(conns["host-w0"].execute(query, [names]).fetchall())
    assert set(owners.values()) == {"host-w0", "host-w1"}, owners  # each owns some
    for name in names:
        conns["host-w0"].execute(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, v TEXT)")
    for node, conn in conns.items():  # every namespace written through both workers
        for name in names:
            conn.execute(f"INSERT INTO {name} VALUES (%s, %s)", [int(node[-1]), node])
    for conn in conns.values():  # and read back through each
        for name in names:
            rows = conn.execute(f"SELECT id, v FROM {name} ORDER BY id").fetchall()
            assert rows == [(0, "host-w0"), (1, "host-w1")]
    members = served.members()
    wire = 'elacsym_forwarded_writes_total{door="wire"}'
    forwarded = {n: _metric(m["http_address"], wire) for n, m in members.items()}
    for node in conns:  # each sent the owner the writes of the namespaces it did not own,
        not_owned = sum(o != node for o in owners.values())
        created = not_owned if node == "host-w0" else 0  # and their CREATE TABLE (0090)
        assert forwarded[node] == not_owned + created, forwarded
    # A scrape of the shared port, whichever worker takes it, shows both, labelled.
    for _ in range(4):
        with urllib.request.urlopen(f"http://127.0.0.1:{served.http_port}/metrics") as answer:
            text = answer.read().decode()
        for node, count in forwarded.items():
            assert f'{wire[:-1]},worker="{node}"}} {count}' in text, text

    served.proc.send_signal(signal.SIGTERM)
    workers = served.workers()
    assert served.proc.wait(120) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _raw_session(port: int) -> tuple[socket.socket, int, int]:
    """A raw wire session: its socket and its backend key (pid, secret)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    sock.sendall(w.startup_packet())
    client = w.Client.__new__(w.Client)
    client.sock = sock
    key = next(r for r in client.until_ready() if r.kind == b"K")
    pid, secret = struct.unpack("!ii", key.body)
    return sock, pid, secret


def _cancel(port: int, pid: int, secret: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(struct.pack("!iiii", 16, 80877102, pid, secret))


@pytest.mark.slow
def test_a_cancel_reaches_the_statement_on_any_worker(served: Served):
    members = served.members()
    for target in ("host-w0", "host-w1"):
        # A session on `target` (its private port), canceled through the other worker's.
        other = next(m for n, m in members.items() if n != target)
        port = int(members[target]["pg_address"].rsplit(":", 1)[1])
        sock, pid, secret = _raw_session(port)
        client = w.Client.__new__(w.Client)
        client.sock = sock
        sock.sendall(w.query("SELECT sum(i * i) FROM range(1000000000000) t(i)"))
        time.sleep(1.0)
        _cancel(int(other["pg_address"].rsplit(":", 1)[1]), pid, secret)
        errors = w.errors(client.until_ready())
        assert [e["C"] for e in errors] == ["57014"], errors
        client.close()

    # psycopg's own cancel goes to the shared port: whichever worker takes it passes it on.
    conns = _connections_on_both(served)
    for conn in conns.values():
        timer = threading.Timer(1.0, conn.cancel)
        timer.start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT sum(i * i) FROM range(1000000000000) t(i)")
        timer.join()
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_no_acknowledged_write_is_lost(served: Served):
    with served.connect() as conn:
        conn.execute("CREATE TABLE k (id BIGINT PRIMARY KEY, v TEXT)")
    acked: list[int] = []
    stop = threading.Event()

    def writer(start: int) -> None:
        n = start
        conn = None
        while not stop.is_set():
            try:
                conn = conn or served.connect()
                conn.execute("INSERT INTO k VALUES (%s, 'x')", [n])
                acked.append(n)
            except psycopg.Error:  # the killed worker's sessions, or a write it owned
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.1)
            n += 1
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=writer, args=(i * 1_000_000,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        _wait(lambda: len(acked) >= 20)
        before = served.workers()
        os.kill(before[1], signal.SIGKILL)
        _wait(lambda: "serving again" in served.log.read_text())
        after = served.workers()
        assert len(after) == 2 and before[1] not in after and before[0] in after
        count = len(acked)
        _wait(lambda: len(acked) >= count + 20)  # writes go on through both workers
    finally:
        stop.set()
        for t in threads:
            t.join(120)
    conns = _connections_on_both(served)
    for conn in conns.values():
        found = {r[0] for r in conn.execute("SELECT id FROM k").fetchall()}
        assert set(acked) <= found, sorted(set(acked) - found)[:10]


@pytest.mark.slow
def test_the_workers_stop_when_the_parent_is_killed(served: Served):
    workers = served.workers()
    served.proc.kill()
    served.proc.wait()
    _wait(lambda: all(not Path(f"/proc/{p}").exists() or _state(p) == "Z" for p in workers))


@pytest.mark.slow
def test_a_closed_member_list_names_the_node_not_its_workers(tmp_path: Path):
    s = _start(tmp_path, "--workers", "2", "--peers", "host,other")
    try:
        _wait(lambda: _settled(s, {"host-w0", "host-w1"}))
        assert set(s.members()) == {"host-w0", "host-w1", "other"}  # other: listed, down
        conns = _connections_on_both(s)
        conns["host-w0"].execute("CREATE TABLE p (id BIGINT PRIMARY KEY)")
        for i, conn in enumerate(conns.values()):
            conn.execute("INSERT INTO p VALUES (%s)", [i])
        for conn in conns.values():
            assert conn.execute("SELECT id FROM p ORDER BY id").fetchall() == [(0,), (1,)]
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(120) == 0
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


def _start_with_a_missing_certificate(tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`serve --workers 2` whose workers cannot load their TLS certificate: they exit."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ELACSYM_")}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")]))
    missing = str(tmp / "missing.pem")
    return subprocess.run(
        [sys.executable, "-m", "elacsym_sql.cli", "--data", str(tmp / "data"), "serve",
         "--listen", "127.0.0.1:0", "--http", "off", "--workers", "2",
         "--tls-cert", missing, "--tls-key", missing, *extra],
        capture_output=True, text=True, env=environ, cwd=tmp, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_a_worker_that_cannot_start_stops_the_start_up(tmp_path: Path):
    done = _start_with_a_missing_certificate(tmp_path)
    assert done.returncode == 1 and "a worker did not start" in done.stderr, done.stderr
    assert "No such file or directory" in done.stderr  # the worker's own reason
    assert "listening on" not in done.stdout


@pytest.mark.slow
def test_the_supervisor_and_workers_say_what_went_wrong_in_json_lines(tmp_path: Path):
    done = _start_with_a_missing_certificate(tmp_path, "--log-format", "json")
    assert done.returncode == 1 and done.stdout == "", done.stdout
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # every line is JSON
    assert {"bad_setting", "worker_failed"} <= {line["event"] for line in lines}, lines
    reason = next(line for line in lines if line["event"] == "bad_setting")
    assert "No such file or directory" in reason["message"] and reason["level"] == "WARNING"
