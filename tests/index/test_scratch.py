"""Scratch directories of the full-text index (fts-live-*, fts-fold-*) left by a process
that was SIGKILLed are removed when another process starts using the same place; those
of a live process (its lock held) and those made before locks existed are kept."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

from elacsym_sql.index.fulltext import FtsSpec, LiveIndex, Upsert, fold
from elacsym_sql.index.scratch import LOCK_FILE, ScratchDir, sweep
from elacsym_sql.schema import Column, Options, Schema

REPO = Path(__file__).resolve().parents[2]

# A process that holds a live full-text index and a fold's scratch directory in `parent`,
# says which, then answers "search" lines until its stdin closes.
CHILD = """
import os, sys
from tests.index.test_scratch import DirIO, corpus, spec
from elacsym_sql.index.fulltext import LiveIndex, Upsert, fold
from elacsym_sql.index.scratch import ScratchDir

parent, objects = sys.argv[1], sys.argv[2]
io = DirIO(objects)
state = fold(spec(), None, [Upsert(corpus(0, 10))], io, "ns/fts", wal_hwm=1, work_dir=parent)
live = LiveIndex(spec(), io, work_dir=parent)
live.view(state)
folding = ScratchDir("fts-fold-", parent)  # as a fold killed mid-way leaves it
print(*sorted(n for n in os.listdir(parent) if n.startswith("fts-")), flush=True)
seq = 1
for line in sys.stdin:
    seq += 1
    print(live.view(state, [(seq, Upsert(corpus(100 * seq, 1)))]).num_docs, flush=True)
"""


class DirIO:
    """Objects as files in a directory."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def fetch(self, key: str) -> str:
        return str(self.root / key)

    def upload(self, key: str, path: str) -> None:
        (self.root / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, self.root / key)


def spec() -> FtsSpec:
    cols = (Column("id", "BIGINT"), Column("title", "VARCHAR"))
    return FtsSpec.from_schema(Schema("docs", cols, "id", Options(full_text=("title",))))


def corpus(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table({"id": ids, "title": [f"object storage {i}" for i in ids]})


def scratch_dirs(parent: Path) -> set[str]:
    return {p.name for p in parent.iterdir() if p.name.startswith("fts-")}


def start_child(parent: Path, objects: Path) -> tuple[subprocess.Popen[str], set[str]]:
    objects.mkdir()
    paths = [str(REPO), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(parent), str(objects)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=REPO, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else ""
    return proc, set(line.split())


def test_a_killed_process_leaves_nothing_a_live_one_keeps_its_own(tmp_path: Path) -> None:
    parent = tmp_path / "scratch"
    parent.mkdir()
    legacy = parent / "fts-live-legacy"  # made by code without locks: nobody can tell
    legacy.mkdir()
    killed, killed_dirs = start_child(parent, tmp_path / "a")
    alive, alive_dirs = start_child(parent, tmp_path / "b")
    try:
        mine = alive_dirs - killed_dirs - {legacy.name}
        assert {d[:9] for d in mine} == {"fts-live-", "fts-fold-"}
        theirs = killed_dirs - {legacy.name}
        assert {d[:9] for d in theirs} == {"fts-live-", "fts-fold-"}
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
        assert theirs <= scratch_dirs(parent)  # a SIGKILLed process removes nothing itself

        # This process starts using the place: a fold, then a live index.
        io = DirIO(str(tmp_path / "c"))
        state = fold(spec(), None, [Upsert(corpus(0, 5))], io, "ns/fts", wal_hwm=1,
                     work_dir=str(parent))  # fmt: skip
        live = LiveIndex(spec(), io, work_dir=str(parent))
        assert live.view(state).num_docs == 5

        left = scratch_dirs(parent)
        assert not theirs & left, "the killed process's directories were kept"
        assert mine <= left, "a live process's directories were removed"
        assert legacy.name in left
        assert sweep(str(parent), "fts-live-") == 0  # our own, held by this process: kept
        assert alive.stdin is not None and alive.stdout is not None
        alive.stdin.write("search\n")
        alive.stdin.flush()
        assert alive.stdout.readline().strip() == "11"  # its index still takes writes
        live.close()
    finally:
        for proc in (killed, alive):
            if proc.poll() is None:
                proc.kill()
            proc.wait(30)


def test_a_scratch_directory_is_locked_from_the_moment_it_is_visible(tmp_path: Path) -> None:
    made = ScratchDir("fts-live-", str(tmp_path))
    assert os.path.exists(os.path.join(made.path, LOCK_FILE))
    assert [p.name for p in tmp_path.iterdir()] == [os.path.basename(made.path)]
    assert sweep(str(tmp_path), "fts-live-") == 0
    made.remove()
    made.remove()  # idempotent
    assert list(tmp_path.iterdir()) == []
