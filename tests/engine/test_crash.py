"""Crash safety: a writer process killed with SIGKILL, at random times and at precise points.

The child prints a JSON line before each statement (`begin`) and after it returned
(`ack`). After the kill the parent opens the storage afresh and checks that every
acknowledged write is there, that the statement in flight is all-or-nothing, and that the
namespace still takes writes, folds, compactions and garbage collection.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from elacsym_sql.catalog.store import ManifestStore, pointer_key
from elacsym_sql.config import Settings
from elacsym_sql.errors import CorruptObject, DuplicateTable, UndefinedTable
from elacsym_sql.storage import open_store
from elacsym_sql.wal import wal_key
from tests.helpers import connection, rows

pytestmark = pytest.mark.slow

TABLE = "CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)"
SEED = random.randrange(1 << 32)  # printed with every failure of the random-kill test

# What the child runs. argv[1]: {"settings": {...}, "mode": ..., ...}.
CHILD = r'''
import json, os, random, signal, sys

cfg = json.loads(sys.argv[1])
import elacsym_sql
from elacsym_sql.catalog.store import ManifestStore
from elacsym_sql.wal.record import MAGIC

armed = False


def out(*msg):
    print(json.dumps(msg), flush=True)


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def called_from(name):
    """Whether an elacsym_sql function called `name` is on the stack."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == name and "elacsym_sql" in code.co_filename:
            return True
        frame = frame.f_back
    return False


def inject(point):
    """Arrange for this process to SIGKILL itself at `point` once `armed` is set."""
    local = not cfg["settings"]["data"].startswith("s3://")
    if point in ("wal-written", "wal-published") and local:
        from elacsym_sql.storage.local import LocalStore

        if point == "wal-written":  # data fsynced in a temp file, not linked into place
            write_temp = LocalStore._write_temp

            def patched_write_temp(self, data):
                tmp = write_temp(self, data)
                if armed and bytes(data[: len(MAGIC)]) == MAGIC:
                    die()
                return tmp

            LocalStore._write_temp = patched_write_temp
        else:  # linked into place (published), put_if_absent has not returned
            link = os.link

            def patched_link(src, dst, *args, **kwargs):
                link(src, dst, *args, **kwargs)
                if armed and "/wal/" in str(dst):
                    die()

            os.link = patched_link
    elif point in ("wal-written", "wal-published"):
        from elacsym_sql.storage.s3 import S3Store

        make_client = S3Store._make_client

        def before_send(request, **kwargs):  # the PUT is built, not sent
            if armed and "/wal/" in request.url:
                die()

        def after_call(context, **kwargs):  # the PUT succeeded, put_object not returned
            if armed and "/wal/" in context["input_params"]["Key"]:
                die()

        def patched_make_client(self):
            client = make_client(self)
            if point == "wal-written":
                client.meta.events.register("before-send.s3.PutObject", before_send)
            else:
                client.meta.events.register("after-call.s3.PutObject", after_call)
            return client

        S3Store._make_client = patched_make_client
    elif point in ("fold-segment-stored", "compact-segment-stored", "drop-appended"):
        caller = {"fold-segment-stored": "fold", "compact-segment-stored": "compact"}.get(
            point, "drop"
        )
        commit = ManifestStore.commit

        def patched_commit(self, manifest):
            if armed and called_from(caller):
                die()
            return commit(self, manifest)

        ManifestStore.commit = patched_commit
    elif point in ("fold-version-created", "compact-version-created"):
        caller = point.split("-")[0]
        advance = ManifestStore._advance_pointer

        def patched_advance(self, namespace, version):
            if armed and called_from(caller):
                die()
            return advance(self, namespace, version)

        ManifestStore._advance_pointer = patched_advance
    elif point == "create-committed":  # version 1 committed, namespace marker not written
        from elacsym_sql.storage import LocalStore
        from elacsym_sql.storage.s3 import S3Store

        for cls in (LocalStore, S3Store):

            def patched_put(self, key, data, _put=cls.put):
                if armed and key.startswith(".namespaces/"):
                    die()
                return _put(self, key, data)

            cls.put = patched_put
    else:
        raise SystemExit(f"unknown point {point}")


def run(con, op, sql, params=None, many=False):
    out("begin", op)
    if many:
        con.executemany(sql, params)
    else:
        con.execute(sql, params)
    out("ack", op)


def scripted(con):
    """A fixed history with a segment and a WAL tail, then the action that gets killed."""
    global armed
    point = cfg["point"]
    engine = con.database.engine
    if point == "create-committed":
        armed = True
        out("begin", {"note": "create"})
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
        out("ack", {"note": "create"})
        return
    for i in range(1, 11):
        run(con, {"set": {i: f"a{i}"}}, "INSERT INTO t VALUES (?, ?)", [i, f"a{i}"])
    assert engine.fold("t")
    out("ack", {"note": "fold"})
    batch = [(i, f"b{i}") for i in range(11, 16)]
    run(con, {"set": dict(batch)}, "INSERT INTO t VALUES (?, ?)", batch, many=True)
    run(con, {"set": {3: "c3"}}, "INSERT INTO t VALUES (3, 'c3')")
    run(con, {"set": {2: "d2"}}, "UPDATE t SET v = 'd2' WHERE id = 2")
    run(con, {"del": [5]}, "DELETE FROM t WHERE id = 5")
    if point.startswith("compact"):
        assert engine.fold("t")  # a second segment to merge with the first
        out("ack", {"note": "fold"})
    snap = engine.namespace("t").snapshot()
    state = {"version": snap.manifest.version, "tail_seq": snap.tail_seq}
    armed = True
    if point.startswith("wal"):
        run(con, {"set": {100: "in-flight"}, **state}, "INSERT INTO t VALUES (100, 'in-flight')")
    elif point.startswith("fold"):
        out("begin", {"note": "fold", **state})
        engine.fold("t")
    elif point.startswith("compact"):
        out("begin", {"note": "compact", **state})
        engine.compact("t", force=True)
    elif point == "drop-appended":
        out("begin", {"note": "drop", **state})
        con.execute("DROP TABLE t")
    out("ack", {"note": "not killed"})


def randomly(con):
    """Statements of every kind until killed; the indexer folds and compacts meanwhile."""
    rng = random.Random(cfg["seed"])
    engine = con.database.engine
    keys = {i for (i,) in con.execute("SELECT id FROM t").fetchall()}
    next_id = cfg["first_id"]
    out("ready")
    stmt = 0
    while True:
        stmt += 1
        tag = f"{cfg['round']}.{stmt}"
        roll = rng.random()
        if roll < 0.4 or len(keys) < 8:
            op = {"set": {next_id: tag}}
            run(con, op, "INSERT INTO t VALUES (?, ?)", [next_id, tag])
            next_id += 1
        elif roll < 0.6:  # new keys and existing ones in one atomic statement
            old = rng.sample(sorted(keys), rng.randint(1, 3))
            new = list(range(next_id, next_id + rng.randint(1, 3)))
            next_id += len(new)
            batch = [(k, f"{tag}/{j}") for j, k in enumerate(old + new)]
            op = {"set": dict(batch)}
            run(con, op, "INSERT INTO t VALUES (?, ?)", batch, many=True)
        elif roll < 0.75:
            key = rng.choice(sorted(keys))
            op = {"set": {key: tag}}
            run(con, op, "UPDATE t SET v = ? WHERE id = ?", [tag, key])
        elif roll < 0.95:
            gone = rng.sample(sorted(keys), rng.randint(1, 3))
            op = {"del": gone}
            marks = ", ".join("?" * len(gone))
            run(con, op, f"DELETE FROM t WHERE id IN ({marks})", gone)
        else:
            op = {"note": "gc"}
            out("begin", op)
            engine.collect_garbage("t")
            out("ack", op)
        keys |= set(op.get("set", {}))
        keys -= set(op.get("del", []))


if cfg["mode"] == "scripted":
    inject(cfg["point"])
con = elacsym_sql.connect(**cfg["settings"])
if cfg["mode"] == "scripted":
    scripted(con)
else:
    randomly(con)
'''


# -- the parent's side --------------------------------------------------------------------


@dataclasses.dataclass
class ChildLog:
    acked: list[dict[str, Any]]
    pending: dict[str, Any] | None  # the statement begun but not acknowledged
    begun: dict[str, Any] | None  # the last `begin` line, acknowledged or not
    returncode: int
    stderr: str


def _spawn(tmp_path: Path, cfg: dict[str, Any]) -> subprocess.Popen[str]:
    script = tmp_path / "crash_child.py"
    if not script.exists():
        script.write_text(CHILD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELACSYM_")}
    return subprocess.Popen(
        [sys.executable, str(script), json.dumps(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _collect(proc: subprocess.Popen[str]) -> ChildLog:
    # Read through proc.stdout, not communicate(): a readline() before may have buffered
    # lines past the first, which communicate() (reading the raw pipe) would never see.
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        out = proc.stdout.read()  # to EOF: the child has died or ended
        err = proc.stderr.read()
        proc.wait()
    finally:
        watchdog.cancel()
    acked: list[dict[str, Any]] = []
    pending = begun = None
    for line in out.splitlines(keepends=True):
        if not line.endswith("\n"):
            continue  # cut off by the kill: never printed
        msg = json.loads(line)
        if msg[0] == "begin":
            pending = begun = msg[1]
        elif msg[0] == "ack":
            acked.append(msg[1])
            pending = None
    return ChildLog(acked, pending, begun, proc.returncode, err)


def _sets(op: dict[str, Any]) -> dict[int, str]:
    return {int(k): v for k, v in op.get("set", {}).items()}


def _apply(model: dict[int, str], op: dict[str, Any]) -> None:
    model.update(_sets(op))
    for k in op.get("del", []):
        model.pop(int(k), None)


def _view(con) -> dict[int, str]:
    return dict(rows(con, "SELECT id, v FROM t"))


def _check_against(model: dict[int, str], log: ChildLog, actual: dict[int, str], why: str):
    """Acknowledged writes are all there; the one in flight is all-or-nothing. Updates
    `model` to what is stored."""
    for op in log.acked:
        _apply(model, op)
    op = log.pending
    if op is not None and ("set" in op or "del" in op):
        touched = set(_sets(op)) | {int(k) for k in op.get("del", [])}
        after = dict(model)
        _apply(after, op)
        got = {k: actual.get(k) for k in touched}
        before_state = {k: model.get(k) for k in touched}
        after_state = {k: after.get(k) for k in touched}
        assert got in (before_state, after_state), f"{why}: statement in flight half applied"
        if got == after_state:
            _apply(model, op)
    assert actual == model, f"{why}: stored rows differ from the acknowledged writes"


def _orphans(settings: Settings, latest_only: bool = False) -> set[str]:
    """Segment objects that no stored manifest version (or: not the latest) references."""
    store = open_store(settings)
    try:
        manifests = ManifestStore(store)
        latest = manifests.load_latest("t")
        assert latest is not None
        referenced = latest.referenced_keys()
        if not latest_only:
            for version, _ in manifests.list_versions("t"):
                referenced |= manifests.load_version("t", version).referenced_keys()
        return {o.key for o in store.list("t/segments/")} - referenced
    finally:
        store.close()


def _pointer_and_latest(settings: Settings) -> tuple[int, int]:
    store = open_store(settings)
    try:
        pointer = json.loads(store.get(pointer_key("t")))["version"]
        latest = ManifestStore(store).load_latest("t")
        assert latest is not None
        return pointer, latest.version
    finally:
        store.close()


def _still_healthy(make_settings: Callable[..., Settings], model: dict[int, str], key: int):
    """The namespace opens, takes a write, folds, compacts; the pointer catches up."""
    with connection(make_settings) as con:
        engine = con.database.engine
        assert _view(con) == model
        engine.stats("t")
        for k in (key, key - 1_000_000):  # two folds: at least two segments to merge
            con.execute("INSERT INTO t VALUES (?, 'after crash')", [k])
            model[k] = "after crash"
            assert engine.fold("t"), "fold after the crash did not commit"
        assert engine.compact("t", force=True), "compaction after the crash did not commit"
        assert len(engine.namespace("t").snapshot().manifest.segments) == 1
        assert _view(con) == model
    pointer, latest = _pointer_and_latest(make_settings())
    assert pointer == latest, "the pointer did not move past a crashed commit"


def _collect_everything_old(make_settings: Callable[..., Settings], model: dict[int, str]):
    """GC as if the grace period had passed; then a reader with a cold cache sees `model`."""
    settings = make_settings()
    with connection(make_settings) as con:
        con.database.engine.collect_garbage("t", now=time.time() + settings.gc_grace_seconds + 60)
    assert _orphans(settings, latest_only=True) == set(), "leftovers survived collection"
    with connection(make_settings, cache_dir=settings.cache_dir + "-cold") as cold:
        assert _view(cold) == model


# -- random-time kills --------------------------------------------------------------------

RANDOM_CHILD = dict(
    indexer=True,
    fold_min_rows=6,
    fold_interval_seconds=0.05,
    compact_min_segments=2,
    manifest_refresh_seconds=0.5,
    gc_grace_seconds=2.0,  # leftovers of earlier rounds get collected in later ones
)


def test_killed_at_random_times_loses_no_acknowledged_write(make_settings, tmp_path):
    rng = random.Random(SEED)
    with connection(make_settings) as setup:
        setup.execute(TABLE)
    child_settings = dataclasses.asdict(make_settings(**RANDOM_CHILD))
    model: dict[int, str] = {}
    delays = [rng.uniform(0, 0.1), rng.uniform(0.1, 0.5), rng.uniform(0.5, 1.0), rng.uniform(1, 2)]
    statements = 0
    for rnd, delay in enumerate(delays, start=1):
        why = f"round {rnd}, kill after {delay:.2f}s (SEED={SEED})"
        cfg = {
            "settings": child_settings,
            "mode": "random",
            "seed": rng.randrange(1 << 30),
            "round": rnd,
            "first_id": rnd * 100_000,
        }
        proc = _spawn(tmp_path, cfg)
        try:
            ready = proc.stdout.readline()
            assert ready == '["ready"]\n', f"{why}: {ready!r} {proc.stderr.read()}"
            time.sleep(delay)  # the kill time is the random variable, not a synchronisation
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            log = _collect(proc)
        assert log.returncode == -signal.SIGKILL, f"{why}: child died by itself:\n{log.stderr}"
        statements += len(log.acked)
        with connection(make_settings) as con:
            _check_against(model, log, _view(con), why)
        _still_healthy(make_settings, model, key=-rnd)
    # Not vacuous: the kills fell among acknowledged writes. How many depends on the
    # machine's load in the fixed delays (13 were seen under heavy load).
    assert statements >= 8, f"the children acknowledged only {statements} statements"
    with connection(make_settings) as con:
        manifest = con.database.engine.namespace("t").snapshot().manifest
        # The parent made 1 + 3 per round versions; the children's indexers made more.
        assert manifest.version > 1 + 3 * len(delays), "the children never folded"
    _collect_everything_old(make_settings, model)


# -- kills at precise points --------------------------------------------------------------

SCRIPTED_MODEL = {i: f"a{i}" for i in range(1, 11)} | {i: f"b{i}" for i in range(11, 16)}
SCRIPTED_MODEL.update({3: "c3", 2: "d2"})
del SCRIPTED_MODEL[5]


def _run_scripted(make_settings, tmp_path: Path, point: str) -> ChildLog:
    cfg = {"settings": dataclasses.asdict(make_settings()), "mode": "scripted", "point": point}
    log = _collect(_spawn(tmp_path, cfg))
    assert log.returncode == -signal.SIGKILL, (
        f"the child was not killed at {point}: rc={log.returncode}\n{log.stderr}"
    )
    return log


POINTS = [
    "wal-written",
    "wal-published",
    "fold-segment-stored",
    "fold-version-created",
    "compact-segment-stored",
    "compact-version-created",
]


@pytest.mark.parametrize("point", POINTS)
def test_killed_at_a_precise_point_recovers(make_settings, tmp_path, point):
    with connection(make_settings) as setup:
        setup.execute(TABLE)
    log = _run_scripted(make_settings, tmp_path, point)
    assert log.begun is not None
    begun = log.begun
    settings = make_settings()
    model: dict[int, str] = {}
    with connection(make_settings) as con:
        actual = _view(con)
        _check_against(model, log, actual, point)
    assert {k: v for k, v in model.items() if k != 100} == SCRIPTED_MODEL
    store = open_store(settings)
    try:
        next_wal = store.exists(wal_key("t", begun["tail_seq"] + 1))
    finally:
        store.close()
    pointer, latest = _pointer_and_latest(settings)
    version = begun["version"]
    if point == "wal-written":
        # Written to storage but never published: not there, and its number is free.
        assert 100 not in actual and not next_wal
    elif point == "wal-published":
        # Published but never acknowledged: durable all the same, and a strong read sees it.
        assert actual.get(100) == "in-flight" and next_wal
    elif point.endswith("segment-stored"):
        # The new segment (and, for a fold, its delete file) is stored but not committed.
        assert (pointer, latest) == (version, version)
        orphans = _orphans(settings)
        assert any(k.endswith("/data.parquet") for k in orphans), orphans
        if point.startswith("fold"):
            assert any(".bin" in k for k in orphans), orphans
    elif point.endswith("version-created"):
        # Committed (the version file is the commit point); the pointer lags behind.
        assert (pointer, latest) == (version, version + 1)
        assert _orphans(settings) == set()
        if point.startswith("fold"):
            with connection(make_settings) as con:
                snap = con.database.engine.namespace("t").snapshot()
                assert snap.manifest.wal_hwm == begun["tail_seq"] and not snap.tail.records
    _still_healthy(make_settings, model, key=1000)
    _collect_everything_old(make_settings, model)


def test_killed_inside_create_table_leaves_a_listed_table_or_none(make_settings, tmp_path):
    _run_scripted(make_settings, tmp_path, "create-committed")
    with connection(make_settings) as con:
        engine = con.database.engine
        try:
            exists = rows(con, "SELECT count(*) FROM t") == [(0,)]
        except UndefinedTable:
            exists = False
        listed = "t" in engine.list_namespaces()
        if not exists:
            assert not listed
            con.execute(TABLE)
        assert exists <= listed, (
            "CREATE TABLE killed after its manifest commit: the table exists but is "
            "missing from list_namespaces() (the namespace marker was never written)"
        )
        # Re-running the CREATE (IF NOT EXISTS) leaves it listed.
        con.execute("CREATE TABLE IF NOT EXISTS t (id BIGINT PRIMARY KEY, v TEXT)")
        assert "t" in engine.list_namespaces()
        con.execute("INSERT INTO t VALUES (1, 'x')")
        assert _view(con) == {1: "x"}


def test_killed_inside_drop_table_leaves_the_table_or_a_free_name(make_settings, tmp_path):
    with connection(make_settings) as setup:
        setup.execute(TABLE)
    _run_scripted(make_settings, tmp_path, "drop-appended")
    with connection(make_settings) as con:
        engine = con.database.engine
        try:
            still_there = _view(con) == SCRIPTED_MODEL
        except UndefinedTable:
            still_there = False
        if not still_there:
            # The drop took effect (its WAL record is its commit point), so the name must
            # be free again and no longer listed.
            problems = []
            if "t" in engine.list_namespaces():
                problems.append("the dropped table is still in list_namespaces()")
            con.execute("DROP TABLE IF EXISTS t")  # what a user would try first
            try:
                con.execute(TABLE)
            except DuplicateTable as exc:
                problems.append(f"CREATE TABLE t fails for good: {exc}")
            else:
                con.execute("INSERT INTO t VALUES (1, 'x')")
                assert _view(con) == {1: "x"}
            assert not problems, "DROP TABLE killed after its WAL record: " + "; ".join(problems)


# -- damaged WAL objects ------------------------------------------------------------------


def _damage(real: bytes, how: str) -> bytes:
    if how == "garbage":
        return b"this is not a WAL record" * 10
    if how == "empty":
        return b""
    if how == "header-only":
        return real[:20]
    if how == "truncated":
        return real[: len(real) // 2]
    if how == "bit-flip":
        flipped = bytearray(real)
        flipped[len(real) - 10] ^= 0x40
        return bytes(flipped)
    raise ValueError(how)


@pytest.mark.parametrize("how", ["garbage", "empty", "header-only", "truncated", "bit-flip"])
def test_damaged_wal_object_is_reported_not_skipped(make_settings, how):
    with connection(make_settings) as con:
        con.execute(TABLE)
        for i in range(3):
            con.execute("INSERT INTO t VALUES (?, ?)", [i, f"v{i}"])
        store = con.database.engine.store
        bad_key = wal_key("t", 4)
        # A writer died leaving a damaged object at the next sequence number.
        store.put_if_absent(bad_key, _damage(store.get(wal_key("t", 1)), how))
        _expect_corrupt(con, bad_key)
        with connection(make_settings) as fresh:
            _expect_corrupt(fresh, bad_key)
        assert not store.exists(wal_key("t", 5))


def _expect_corrupt(con, bad_key: str) -> None:
    with pytest.raises(CorruptObject) as exc:
        rows(con, "SELECT * FROM t")
    assert exc.value.sqlstate == "XX001"
    assert bad_key in str(exc.value)
    # Writes do not go past it (nothing is appended after it), and neither does a fold.
    with pytest.raises(CorruptObject):
        con.execute("INSERT INTO t VALUES (9, 'x')")
    with pytest.raises(CorruptObject):
        con.database.engine.fold("t")
