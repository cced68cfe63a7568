"""Concurrent writers on one namespace: threads with their own connections, threads sharing
one database, writers racing background folds and compactions, and separate processes.

What must hold: every acknowledged write is stored exactly once, each writer's writes land
in the WAL in the order it made them, and conditional writes (UPDATE) never lose an update.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from elacsym_sql.catalog.store import ManifestStore, pointer_key
from elacsym_sql.errors import SerializationFailure
from elacsym_sql.sql import Connection, Database
from tests.helpers import connection, open_connection, rows

TABLE = "CREATE TABLE t (id BIGINT PRIMARY KEY, writer BIGINT, n BIGINT)"
STRIDE = 1_000_000  # writer w owns the keys w * STRIDE + i


def _run_all(jobs: list[Callable[[], object]], timeout: float = 120) -> list[object]:
    """Run every job on its own thread; re-raise the first failure."""
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(job) for job in jobs]
        return [f.result(timeout=timeout) for f in futures]


def _wal_rows(con: Connection, name: str = "t") -> list[tuple[int, dict]]:
    """(seq, row) for every row of every WAL record of the unfolded tail, in WAL order."""
    snap = con.database.engine.namespace(name).snapshot()
    assert snap.manifest.wal_hwm == 0, "nothing may have been folded for this check"
    out = []
    for seq, record in snap.tail.records:
        assert record.kind == "upsert"
        out.extend((seq, row) for row in record.table.to_pylist())
    return out


def _view(con: Connection) -> dict[int, tuple[int, int]]:
    return {i: (w, n) for i, w, n in rows(con, "SELECT id, writer, n FROM t")}


# -- blind inserts from threads -----------------------------------------------------------


@pytest.mark.parametrize("writers,per_writer", [(2, 150), (4, 50)])
def test_thread_writers_keep_every_row_once_and_in_their_order(make_settings, writers, per_writer):
    with connection(make_settings) as setup:
        setup.execute(TABLE)
    start = threading.Barrier(writers, timeout=60)
    acked: dict[int, list[int]] = {w: [] for w in range(writers)}
    seen_seq: dict[int, list[int]] = {w: [] for w in range(writers)}

    def write(w: int) -> None:
        with connection(make_settings) as con:
            ns = con.database.engine.namespace("t")
            ns.snapshot()
            start.wait()
            for i in range(per_writer):
                con.execute("INSERT INTO t VALUES (?, ?, ?)", [w * STRIDE + i, w, i])
                acked[w].append(i)
                # This connection's own view includes its acknowledged write.
                seen_seq[w].append(ns.snapshot().tail_seq)

    _run_all([lambda w=w: write(w) for w in range(writers)])

    total = writers * per_writer
    with connection(make_settings) as check:
        wal = _wal_rows(check)
        # One WAL record of one row per statement, at dense sequence numbers: no write was
        # lost, and none was appended twice by a retry.
        assert [seq for seq, _ in wal] == list(range(1, total + 1))
        for w in range(writers):
            assert acked[w] == list(range(per_writer))
            mine = [(seq, row["n"]) for seq, row in wal if row["writer"] == w]
            assert [n for _, n in mine] == acked[w], f"writer {w}: WAL order differs"
            assert all(row["id"] == w * STRIDE + row["n"] for _, row in wal if row["writer"] == w)
            # The sequence number a writer saw after each write never went backwards, and
            # covered the write it had just made.
            assert seen_seq[w] == sorted(seen_seq[w])
            assert all(seen >= seq for seen, (seq, _) in zip(seen_seq[w], mine, strict=True))
        expected = {w * STRIDE + i: (w, i) for w in range(writers) for i in range(per_writer)}
        assert _view(check) == expected
        # The writers really interleaved (else this test proved nothing about races).
        order = [row["writer"] for _, row in wal]
        switches = sum(a != b for a, b in itertools.pairwise(order))
        assert switches >= writers


# -- conditional writes (read-modify-write) -----------------------------------------------


@pytest.mark.parametrize("mode", ["own-database", "shared-database"])
def test_racing_increments_lose_no_update(make_settings, mode):
    """UPDATE n = n + 1 from several threads: evaluated against a state, appended only
    directly after it, evaluated again when another writer got in first."""
    threads, per_thread = 4, 25
    total = threads * per_thread
    with connection(make_settings) as setup:
        setup.execute("CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT)")
        setup.execute("INSERT INTO counter VALUES (1, 0), (2, 0)")

    shared = Database(make_settings()) if mode == "shared-database" else None

    def open_con() -> Connection:
        if shared is not None:
            return Connection(shared, owns_database=False)
        return open_connection(make_settings())

    start = threading.Barrier(threads + 1, timeout=60)
    done = threading.Event()
    retried = [0] * threads
    acked = [0] * threads

    def increment(t: int) -> None:
        con = open_con()
        try:
            rows(con, "SELECT n FROM counter")
            start.wait()
            while acked[t] < per_thread:
                try:
                    n = con.execute("UPDATE counter SET n = n + 1 WHERE id = 1").rowcount
                except SerializationFailure:
                    retried[t] += 1  # nothing was written: a client retries
                    continue
                assert n == 1
                acked[t] += 1
        finally:
            con.close()

    reads: list[int] = []

    def read() -> None:
        con = open_con()
        try:
            start.wait()
            while not done.is_set():
                reads.append(rows(con, "SELECT n FROM counter WHERE id = 1")[0][0])
        finally:
            con.close()

    try:
        with ThreadPoolExecutor(max_workers=threads + 1) as pool:
            reader = pool.submit(read)
            writers = [pool.submit(increment, t) for t in range(threads)]
            try:
                for f in writers:
                    f.result(timeout=120)
            finally:
                done.set()
            reader.result(timeout=60)
    finally:
        if shared is not None:
            shared.close()

    assert sum(acked) == total
    # One reader's successive reads never go back in time.
    assert reads == sorted(reads), "a read saw an older state than an earlier read"
    with connection(make_settings) as check:
        assert rows(check, "SELECT id, n FROM counter ORDER BY id") == [(1, total), (2, 0)]
        # Every update was computed from the state directly before it: the WAL holds the
        # values 1, 2, ..., total in order, one record per acknowledged update.
        snap = check.database.engine.namespace("counter").snapshot()
        values = [r.table.column("n").to_pylist() for _, r in snap.tail.records[1:]]
        assert values == [[v] for v in range(1, total + 1)], f"retries: {retried}"


# -- writers racing the background indexer and compaction --------------------------------


def test_writers_racing_folds_and_compactions_end_at_the_expected_rows(make_settings):
    writers, ops = 2, 80
    racing = dict(
        indexer=True,
        fold_min_rows=8,
        fold_interval_seconds=0.1,  # the indexer ticks every 0.05 s
        compact_min_segments=3,
        manifest_refresh_seconds=0.1,  # see the other engines' commits promptly
    )
    with connection(make_settings) as setup:
        setup.execute(TABLE)
    start = threading.Barrier(writers + 1, timeout=60)
    writing, stopped = threading.Event(), threading.Event()
    writing.set()
    expected: dict[int, dict[int, tuple[int, int]]] = {w: {} for w in range(writers)}
    compactions = [0, 0]  # committed, attempted

    def write(w: int) -> None:
        rng = random.Random(1000 + w)
        mine = expected[w]
        with connection(make_settings, **racing) as con:
            start.wait()
            for i in range(ops):
                roll = rng.random()
                if roll < 0.15 and mine:
                    key = rng.choice(sorted(mine))
                    con.execute("UPDATE t SET n = n + 1000 WHERE id = ?", [key])
                    mine[key] = (w, mine[key][1] + 1000)
                elif roll < 0.25 and mine:
                    key = rng.choice(sorted(mine))
                    con.execute("DELETE FROM t WHERE id = ?", [key])
                    del mine[key]
                elif roll < 0.35 and mine:
                    key = rng.choice(sorted(mine))  # a whole-row upsert of an existing key
                    con.execute("INSERT INTO t VALUES (?, ?, ?)", [key, w, -i])
                    mine[key] = (w, -i)
                elif roll < 0.45:
                    batch = [(w * STRIDE + i * 10 + j, w, i) for j in range(3)]
                    con.executemany("INSERT INTO t VALUES (?, ?, ?)", batch)
                    mine.update({k: (w, n) for k, _, n in batch})
                else:
                    con.execute("INSERT INTO t VALUES (?, ?, ?)", [w * STRIDE + i * 10, w, i])
                    mine[w * STRIDE + i * 10] = (w, i)

    def compact_loop() -> None:
        with connection(make_settings, **{**racing, "indexer": False}) as con:
            engine = con.database.engine
            start.wait()
            while writing.is_set():
                compactions[1] += 1
                compactions[0] += engine.compact("t", force=True)
                stopped.wait(0.05)  # pacing only: leave the writers some of the server
            # Each attempt above raced the writers' folds and may have lost every CAS (a
            # merge slower than the fold interval does, on a loaded machine): then the
            # segments they left are merged now, unraced, so what follows checks a
            # compacted namespace either way.
            while not compactions[0] and compactions[1] < 100:
                compactions[1] += 1
                compactions[0] += engine.compact("t", force=True)

    with ThreadPoolExecutor(max_workers=writers + 1) as pool:
        compactor = pool.submit(compact_loop)
        futures = [pool.submit(write, w) for w in range(writers)]
        try:
            for f in futures:
                f.result(timeout=120)
        finally:
            writing.clear()
            stopped.set()
        compactor.result(timeout=60)

    want = {k: v for mine in expected.values() for k, v in mine.items()}
    with connection(make_settings) as check:
        assert _view(check) == want
        manifest = check.database.engine.namespace("t").snapshot().manifest
        assert manifest.wal_hwm > 0, "the background indexer never folded"
        assert compactions[0] >= 1, f"no compaction committed in {compactions[1]} attempts"
        # The namespace is healthy: a fold and a compaction of what is left still work,
        # and the pointer names the newest version.
        check.execute("INSERT INTO t VALUES (-1, -1, -1)")
        want[-1] = (-1, -1)
        assert check.database.engine.fold("t")
        check.database.engine.compact("t", force=True)
        assert _view(check) == want
        store = check.database.engine.store
        latest = ManifestStore(store).load_latest("t")
        assert json.loads(store.get(pointer_key("t")))["version"] == latest.version
    # A reader with a cold disk cache downloads exactly the referenced objects.
    with connection(make_settings, cache_dir=str(make_settings().cache_dir) + "-cold") as cold:
        assert _view(cold) == want


# -- separate processes -------------------------------------------------------------------

CHILD = r"""
import json, sys
import elacsym_sql

settings, writer, count = json.loads(sys.argv[1])
con = elacsym_sql.connect(**settings)
con.execute("SELECT count(*) FROM t").fetchall()
print("ready", flush=True)
assert sys.stdin.readline().strip() == "go"
for i in range(count):
    con.execute("INSERT INTO t VALUES (?, ?, ?)", [writer * 1_000_000 + i, writer, i])
    print("ack", i, flush=True)
con.close()
print("done", flush=True)
"""


def _child_env() -> dict[str, str]:
    # Settings travel as arguments; no ELACSYM_* variable of ours may change them.
    return {k: v for k, v in os.environ.items() if not k.startswith("ELACSYM_")}


@pytest.mark.slow
def test_writer_processes_keep_every_acknowledged_row_in_their_order(make_settings, tmp_path):
    procs_n, count = 2, 120
    with connection(make_settings) as setup:
        setup.execute(TABLE)
    script = tmp_path / "writer.py"
    script.write_text(CHILD)
    fields = dataclasses.asdict(make_settings())
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), json.dumps([fields, p, count])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_child_env(),
        )
        for p in range(procs_n)
    ]
    outputs: list[str] = []
    try:
        for proc in procs:  # both are connected before either writes
            line = proc.stdout.readline()
            assert line == "ready\n", proc.stderr.read()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            outputs.append(out)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    acked = {
        p: [int(line.split()[1]) for line in out.splitlines() if line.startswith("ack ")]
        for p, out in enumerate(outputs)
    }
    with connection(make_settings) as check:
        wal = _wal_rows(check)
        assert [seq for seq, _ in wal] == list(range(1, procs_n * count + 1))
        for p in range(procs_n):
            assert acked[p] == list(range(count))
            assert [row["n"] for _, row in wal if row["writer"] == p] == acked[p]
        assert _view(check) == {p * STRIDE + i: (p, i) for p in range(procs_n) for i in acked[p]}
        order = [row["writer"] for _, row in wal]
        assert sum(a != b for a, b in itertools.pairwise(order)) >= procs_n


def test_writer_sees_its_write_from_another_connection_at_once(make_settings):
    """Strong reads across engines: an acknowledged write is visible to the next read of a
    connection that already had the namespace cached (no refresh interval in between)."""
    with connection(make_settings) as a, connection(make_settings) as b:
        a.execute(TABLE)
        assert rows(b, "SELECT count(*) FROM t") == [(0,)]
        for i in range(40):
            writer, reader = (a, b) if i % 2 == 0 else (b, a)
            writer.execute("INSERT INTO t VALUES (?, ?, ?)", [i, i % 2, i])
            assert rows(reader, "SELECT n FROM t WHERE id = ?", [i]) == [(i,)]
            assert rows(reader, "SELECT count(*) FROM t") == [(i + 1,)]
