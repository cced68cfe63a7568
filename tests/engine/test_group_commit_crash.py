"""A writer process killed (SIGKILL) while its threads' group commits are in flight loses
no acknowledged write (decision 0076): a statement is acknowledged only once the WAL
object of its batch is stored, so what the kill cuts short was never acknowledged."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers import connection, rows

pytestmark = pytest.mark.slow

THREADS = 16
REPO = Path(__file__).resolve().parents[2]

# argv[1]: [settings fields, threads]. Prints "ack <id>" after each INSERT returned.
CHILD = r"""
import json, sys, threading
from elacsym_sql.config import Settings
from elacsym_sql.sql import Connection, Database

fields, threads = json.loads(sys.argv[1])
db = Database(Settings(**fields))
out = threading.Lock()


def write(w):
    con = Connection(db, owns_database=False)
    i = 0
    while True:
        key = w * 1_000_000 + i
        con.execute("INSERT INTO t VALUES (?, ?)", [key, w])
        with out:
            print("ack", key, flush=True)
        i += 1


for w in range(threads):
    threading.Thread(target=write, args=(w,), daemon=True).start()
threading.Event().wait()
"""


def test_killed_writer_loses_no_acknowledged_batched_write(make_settings, tmp_path):
    with connection(make_settings) as setup:
        setup.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, w BIGINT)")
    script = tmp_path / "group_writer.py"
    script.write_text(CHILD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELACSYM_")}
    env["PYTHONPATH"] = str(REPO)  # this checkout's code, however pytest was started
    fields = dataclasses.asdict(make_settings())
    proc = subprocess.Popen(
        [sys.executable, str(script), json.dumps([fields, THREADS])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    acked: list[int] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            acked.append(int(line.split()[1]))
            if len(acked) >= 300:  # well under way, writes in flight on every thread
                os.kill(proc.pid, signal.SIGKILL)
                break
        acked += [int(line.split()[1]) for line in proc.stdout if line.endswith("\n")]
        proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    assert len(acked) >= 300, proc.stderr.read() if proc.stderr else ""

    with connection(make_settings) as check:
        stored = {k for (k,) in rows(check, "SELECT id FROM t")}
        missing = set(acked) - stored
        assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
        # Beyond the acknowledged rows, only statements in flight at the kill: one a thread.
        assert len(stored - set(acked)) <= THREADS
        # The writes were batched: fewer WAL objects than rows.
        snap = check.database.engine.namespace("t").snapshot()
        objects = {seq for seq, _ in snap.tail.records}
        assert len(objects) < len(stored) / 2, (len(objects), len(stored))
