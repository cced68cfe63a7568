"""Durable sequences: blocks reserved by conditional writes never hand out a value twice,
across concurrent processes and restarts."""

from __future__ import annotations

import multiprocessing

import pytest

from elacsym_sql.config import Settings
from elacsym_sql.engine import Engine
from elacsym_sql.engine.sequences import BLOCK, SequenceSpec
from elacsym_sql.errors import DuplicateTable, SequenceLimitExceeded


def _allocate(settings: Settings, count: int, start, out) -> None:
    """In a separate process: wait for the start signal, take `count` values one by one."""
    engine = Engine(settings)
    try:
        start.wait(60)
        out.put([engine.sequences.next_values("s", 1)[0] for _ in range(count)])
    finally:
        engine.close()


@pytest.mark.slow
def test_processes_allocating_at_once_never_share_a_value(make_settings):
    settings = make_settings()
    engine = Engine(settings)
    try:
        engine.sequences.create("s", SequenceSpec())
    finally:
        engine.close()
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    count = 4 * BLOCK + 5  # several blocks each, so the processes race for the object
    procs = [ctx.Process(target=_allocate, args=(settings, count, start, out)) for _ in range(3)]
    for p in procs:
        p.start()
    start.set()
    got = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    values = [v for chunk in got for v in chunk]
    assert len(values) == len(set(values)) == 3 * count
    for chunk in got:
        assert chunk == sorted(chunk)  # one process's values increase
    # A restart continues after every block handed out, used or not.
    engine = Engine(settings)
    try:
        assert engine.sequences.next_values("s", 1)[0] > max(values)
    finally:
        engine.close()


def test_block_reservation_and_limits(settings):
    engine = Engine(settings)
    try:
        engine.sequences.create("s", SequenceSpec(start=5, increment=-2, minvalue=0, maxvalue=9))
        with pytest.raises(DuplicateTable):
            engine.sequences.create("s", SequenceSpec())
        assert engine.sequences.next_values("s", 2) == [5, 3]
        before = engine.store.request_counts["put"]
        assert engine.sequences.next_values("s", 1) == [1]  # from the block in memory
        assert engine.store.request_counts["put"] == before
        with pytest.raises(SequenceLimitExceeded):
            engine.sequences.next_values("s", 1)
        engine.sequences.setval("s", 9)
        assert engine.sequences.next_values("s", 1) == [7]
    finally:
        engine.close()
