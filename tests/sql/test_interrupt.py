"""Cursor.interrupt() from another thread cancels the cursor's running statement (57014),
also after the session wrote or ran DDL: each statement starts before its commit point.
(Before, the first write or CREATE TABLE left the session past its commit point for good,
and interrupt() did nothing from then on.)"""

from __future__ import annotations

import threading

import pytest

from elacsym_sql import errors
from tests.helpers import connection

LONG = "SELECT count(*) FROM range(100000000000)"  # a minute of work, unless stopped


def run_interrupted(cur, sql: str) -> None:
    """Run `sql` while another thread interrupts the cursor every 0.1 s until it ends."""
    done = threading.Event()

    def keep_interrupting() -> None:
        while not done.wait(0.1):
            cur.interrupt()

    thread = threading.Thread(target=keep_interrupting)
    thread.start()
    try:
        cur.execute(sql).fetchall()
    finally:
        done.set()
        thread.join()


def test_interrupt_cancels_before_and_after_writes_and_ddl(make_settings):
    with connection(make_settings) as con:
        cur = con.cursor()
        with pytest.raises(errors.QueryCanceled):
            run_interrupted(cur, LONG)
        cur.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)")
        cur.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(errors.QueryCanceled) as err:
            run_interrupted(cur, LONG)
        assert err.value.sqlstate == "57014"
        assert cur.execute("SELECT count(*) FROM t").fetchone() == (1,)  # the cursor goes on
