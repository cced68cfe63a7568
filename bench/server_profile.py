"""Profiling the elacsym server for bench/wire.py --profile: py-spy samples the server
process while one client runs a statement in a loop, and the samples are summed up by
function (inclusive and self), idle waits left out.
"""

from __future__ import annotations

import collections
import contextlib
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from wire_clients import run_clients


@contextlib.contextmanager
def py_spy(pid: int, out: Path, seconds: float) -> Iterator[None]:
    """py-spy samples process `pid` (all threads, idle ones left out) into collapsed stacks."""
    cmd = [
        "py-spy",
        "record",
        "-p",
        str(pid),
        "-o",
        str(out),
        "-f",
        "raw",
        "-r",
        "500",
        "-d",
        str(int(seconds) + 1),
        "--nonblocking",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # attached
    try:
        yield
    finally:
        _, err = proc.communicate(timeout=seconds + 30)
        if proc.returncode != 0 and not out.exists():
            print(f"  py-spy failed: {err.strip()[-500:]}", flush=True)


# Leaves where a thread waits (py-spy's own idle detection misses them in this container):
# a pool worker waiting for work, the event loop in epoll, a thread parked on a lock.
# (A pool worker's own frame innermost means it is in queue.get: running work adds frames.)
IDLE_LEAVES = ("_worker (", "EpollSelector.select (", "Condition.wait (", "Event.wait (")
# Frames on (nearly) every stack: where threads and the loop start, not where time goes.
ROOT_FRAMES = (
    "threading.py",
    "<frozen runpy>",
    "cli.py",
    "asyncio/runners.py",
    "run_forever",
    "run_until_complete",
    "_run_once",
    "Handle._run",
    "Server._accept",
    "Session.serve",
    "Session.loop",
    "_worker (",
    "_WorkItem.run",
)


def top_frames(collapsed: Path, n: int) -> dict[str, Any]:
    """The functions with the largest share of busy samples (idle waits left out), counted
    inclusively (anywhere on the stack, roots left out) and by self (the innermost frame)."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    busy = idle = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        c = int(count)
        frames = [_short(f) for f in stack.split(";")]
        if frames[-1].startswith(IDLE_LEAVES):
            idle += c
            continue
        busy += c
        for f in {_no_line(f) for f in frames if not any(r in f for r in ROOT_FRAMES)}:
            inclusive[f] += c
        own[frames[-1]] += c
    if not busy:
        return {}
    return {
        "busy_samples": busy,
        "idle_samples": idle,
        "inclusive": [(f, c / busy) for f, c in inclusive.most_common(n)],
        "self": [(f, c / busy) for f, c in own.most_common(n)],
    }


def _no_line(frame: str) -> str:
    """'fn (server/session.py:123)' -> 'fn (server/session.py)'."""
    head, sep, _ = frame.rpartition(":")
    return head + ")" if sep else frame


def _short(frame: str) -> str:
    """'fn (path/to/elacsym_sql/server/session.py:123)' -> 'fn (server/session.py:123)'."""
    fn, _, where = frame.partition(" (")
    where = where.rstrip(")")
    parts = where.split("/")
    for marker in ("elacsym_sql", "site-packages", "python3.11"):
        if marker in parts:
            parts = parts[parts.index(marker) + 1 :]
            break
    else:
        parts = parts[-2:]
    return f"{fn} ({'/'.join(parts)})"


def stacks_file(folder: Path, label: str) -> Path:
    """Where the collapsed stacks of the profile `label` are written in `folder`."""
    return folder / f"wire-profile-{label.replace(' ', '_')}.txt"


def profile_server(
    pid: int, cases: dict[str, tuple[Callable, list[Any]]], seconds: float, where: Path
) -> dict[str, Any]:
    """For each case (label: a client factory of wire_clients and its parameters), one client
    runs for `seconds` while py-spy samples process `pid`; the stacks are collected in
    `where`."""
    out: dict[str, Any] = {}
    if shutil.which("py-spy") is None:
        print("  --profile: py-spy is not on PATH (pip install py-spy); skipped", flush=True)
        return out
    for label, (make, params) in cases.items():
        raw = stacks_file(where, label)
        with py_spy(pid, raw, seconds):
            stats = run_clients(make, 1, params, seconds)
        top = top_frames(raw, 25) if raw.exists() else {}
        collapsed = raw.read_text() if raw.exists() else ""
        out[label] = {"stats": stats, "top": top, "collapsed": collapsed}
        print(f"  profiled {label}: {stats['qps']:,.0f} q/s under py-spy", flush=True)
    return out


def save_stacks(profiles: dict[str, Any], folder: Path) -> None:
    """Move each profile's collapsed stacks out of `profiles` into a file in `folder`."""
    for label, prof in profiles.items():
        stacks = stacks_file(folder, label)
        stacks.parent.mkdir(parents=True, exist_ok=True)
        stacks.write_text(prof.pop("collapsed"))
