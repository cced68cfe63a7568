"""A writer that stalls between choosing a WAL sequence number and creating it (SIGSTOP, a
paused VM) must not acknowledge a write readers ignore.

The stalled writer's create of WAL object N is held back (a wrapper around its `try_append`)
while another process writes N and beyond, folds them and collects the folded WAL objects:
slot N is free again, so the create succeeds. The write must still be readable, exactly
once, after the others (decision 0057, issue 11 item 2). gc_grace_seconds is 2 here, and the
stall is held past half of it so the writer checks (the happy path does not).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from elacsym_sql.layout import wal_key
from elacsym_sql.metrics import WAL_APPENDS
from elacsym_sql.sql import Connection
from tests.helpers import connection, fold, rows

GRACE = 2.0
TABLE = "CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)"


def _settings(make_settings):
    return make_settings(gc_grace_seconds=GRACE, manifest_refresh_seconds=GRACE / 4)


@contextmanager
def _stalled_write(con: Connection, sql: str, *, land_first: bool) -> Iterator[Callable[[], int]]:
    """Run `sql` on `con` in a thread whose first WAL create is held until the block ends.
    `land_first`: the create reaches storage before the stall (a stall after the request),
    else after it (a stall before the request). Yields a function returning the slot."""
    wal = con.database.engine.namespace("t").wal
    create = wal.try_append
    entered, release = threading.Event(), threading.Event()
    slots: list[int] = []

    def held(seq: int, payload: bytes) -> bool:
        if slots:
            return create(seq, payload)
        slots.append(seq)
        done = create(seq, payload) if land_first else None
        entered.set()
        assert release.wait(60)
        return create(seq, payload) if done is None else done

    wal.try_append = held  # type: ignore[method-assign]
    errors: list[BaseException] = []

    def run() -> None:
        try:
            con.execute(sql)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert entered.wait(60)
        yield lambda: slots[0]
        # Past half the grace period since the slot was chosen, and a second past any
        # manifest committed so far (object mtimes may have one-second resolution).
        time.sleep(GRACE / 2 + 1.1)
    finally:
        release.set()
        thread.join(60)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


def _orphaned() -> float:
    return WAL_APPENDS.labels("orphaned")._value.get()


def test_create_into_a_folded_and_collected_slot_is_retried(make_settings):
    settings = _settings(make_settings)
    with connection(lambda: settings) as other, connection(lambda: settings) as stalled:
        other.execute(TABLE)
        other.execute("INSERT INTO t VALUES (0, 'before')")
        assert rows(stalled, "SELECT v FROM t") == [("before",)]
        orphaned = _orphaned()
        with _stalled_write(
            stalled, "INSERT INTO t VALUES (1, 'stalled')", land_first=False
        ) as slot:
            for i in range(2, 5):  # the first takes the stalled writer's slot
                other.execute("INSERT INTO t VALUES (?, 'other')", [i])
            assert fold(other, "t")
            engine = other.database.engine
            assert engine.collect_garbage("t", now=time.time() + GRACE + 5) > 0
            assert not engine.store.exists(wal_key("t", slot()))  # the slot is free again
        expect = [(0, "before"), (1, "stalled"), (2, "other"), (3, "other"), (4, "other")]
        assert rows(other, "SELECT id, v FROM t ORDER BY id") == expect
        assert _orphaned() == orphaned + 1  # the first create was found folded and undone
        assert not engine.store.exists(wal_key("t", slot()))
    with connection(lambda: settings) as fresh:
        assert rows(fresh, "SELECT id, v FROM t ORDER BY id") == expect
        assert fold(fresh, "t")
        assert rows(fresh, "SELECT id, v FROM t ORDER BY id") == expect


@pytest.mark.parametrize("folded", [False, True], ids=["unfolded", "folded-after-landing"])
def test_a_slow_create_that_landed_in_time_counts_once(make_settings, folded):
    """A stall after the create reached storage: the write counts where it landed, also
    when the owner folded it before the writer woke (then the manifest covers the slot, but
    it was committed after our object: it folded ours)."""
    settings = _settings(make_settings)
    with connection(lambda: settings) as other, connection(lambda: settings) as stalled:
        other.execute(TABLE)
        other.execute("INSERT INTO t VALUES (0, 'before')")
        assert rows(stalled, "SELECT v FROM t") == [("before",)]
        orphaned = _orphaned()
        with _stalled_write(stalled, "INSERT INTO t VALUES (1, 'stalled')", land_first=True):
            time.sleep(1.1)  # the fold's manifest is a second newer than our object
            other.execute("INSERT INTO t VALUES (2, 'other')")
            if folded:
                assert fold(other, "t")
        assert _orphaned() == orphaned
    with connection(lambda: settings) as fresh:
        expect = [(0, "before"), (1, "stalled"), (2, "other")]
        assert rows(fresh, "SELECT id, v FROM t ORDER BY id") == expect
        assert fold(fresh, "t") or folded
        assert rows(fresh, "SELECT id, v FROM t ORDER BY id") == expect
