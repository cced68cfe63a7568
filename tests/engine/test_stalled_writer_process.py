"""A writer process SIGSTOPped between choosing a WAL sequence number and creating it, past
gc_grace_seconds, while another process writes, folds and collects; SIGCONT: no
acknowledged write is lost, duplicated or reordered (issue 11 item 2, decision 0070).

The child pauses at that point once (it prints the slot and waits for a line on stdin) so
the SIGSTOP lands in the window every run; the stop itself is a real SIGSTOP/SIGCONT.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from elacsym_sql.layout import wal_key
from tests.helpers import connection, fold, rows

GRACE = 2.0
COUNT, STOP_AT = 6, 2

CHILD = r"""
import json, sys
import elacsym_sql

settings, count, stop_at = json.loads(sys.argv[1])
con = elacsym_sql.connect(**settings)
con.execute("SELECT count(*) FROM t").fetchall()
wal = con.database.engine.namespace("t").wal
create = wal.try_append
state = {"i": -1, "paused": False}

def held(seq, payload):
    if state["i"] == stop_at and not state["paused"]:
        state["paused"] = True
        print("window", seq, flush=True)
        assert sys.stdin.readline().strip() == "go"
    return create(seq, payload)

wal.try_append = held
for i in range(count):
    state["i"] = i
    con.execute(
        "INSERT INTO t VALUES (?, 'child', ?), (0, 'child', ?) "
        "ON CONFLICT (id) DO UPDATE SET who = excluded.who, n = excluded.n",
        [1000 + i, i, i],
    )
    print("ack", i, flush=True)
con.close()
"""


@pytest.mark.slow
def test_sigstopped_writer_loses_nothing(make_settings, tmp_path):
    settings = make_settings(gc_grace_seconds=GRACE, manifest_refresh_seconds=GRACE / 4)
    script = tmp_path / "writer.py"
    script.write_text(CHILD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELACSYM_")}
    with connection(lambda: settings) as other:
        other.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, who TEXT, n BIGINT)")
        other.execute("INSERT INTO t VALUES (0, 'other', -1)")
        args = json.dumps([dataclasses.asdict(settings), COUNT, STOP_AT])
        proc = subprocess.Popen(
            [sys.executable, str(script), args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            lines = []
            while not (line := proc.stdout.readline()).startswith("window"):
                assert line, proc.stderr.read()
                lines.append(line)
            slot = int(line.split()[1])
            os.kill(proc.pid, signal.SIGSTOP)
            proc.stdin.write("go\n")  # waits in the pipe until the child runs again
            proc.stdin.flush()
            for i in range(3):  # writes through another process take the slot and more
                other.execute("INSERT INTO t VALUES (?, 'other', ?)", [2000 + i, i])
            other.execute("UPDATE t SET who = 'other', n = -2 WHERE id = 0")
            engine = other.database.engine
            assert fold(other, "t")
            assert engine.collect_garbage("t", now=time.time() + GRACE + 5) > 0
            assert not engine.store.exists(wal_key("t", slot))  # free again
            time.sleep(GRACE / 2 + 1.1)  # stopped past half the grace period (and a second)
            os.kill(proc.pid, signal.SIGCONT)
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        acked = [int(x.split()[1]) for x in lines + out.splitlines() if x.startswith("ack ")]
        assert acked == list(range(COUNT))
        want = (
            [(0, "child", COUNT - 1)]  # the child's last write is the newest: none reordered
            + [(1000 + i, "child", i) for i in acked]
            + [(2000 + i, "other", i) for i in range(3)]
        )
        assert rows(other, "SELECT id, who, n FROM t ORDER BY id") == want
        assert fold(other, "t")
    with connection(lambda: settings) as fresh:
        assert rows(fresh, "SELECT id, who, n FROM t ORDER BY id") == want
        assert rows(fresh, "SELECT count(*) FROM t") == [(len(want),)]
