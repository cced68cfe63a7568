"""A forwarded write whose owner stops answering (SIGSTOP) does not hang its client for
ever: the client's statement_timeout is passed on to the owner as a cancel, and an owner
that stays silent for a heartbeat TTL after it makes the write end with 40003 (it may
have been applied); once the owner runs again the write is there at most once, and later
writes go on (decision 0084)."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from elacsym_sql.cluster import owner
from tests.cluster.nodes import start_node, wait_for

FAST = {"heartbeat_seconds": 0.5, "heartbeat_ttl_seconds": 3.0}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["s3"])
def test_statement_timeout_reaches_a_stalled_owner(make_settings, tmp_path):
    settings = make_settings()
    table = next(f"s{i}" for i in range(100) if owner(f"s{i}", ["a", "b"]) == "b")
    a = start_node(settings, "a", tmp_path, **FAST)
    b = start_node(settings, "b", tmp_path, **FAST)
    try:
        wait_for(lambda: a.members().keys() == {"a", "b"}, what="a sees b")
        a.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, v TEXT)")
        with a.connect() as conn:
            conn.execute(f"INSERT INTO {table} VALUES (1, 'before')")  # pools a connection
            conn.execute("SET statement_timeout = '1s'")
            b.kill(signal.SIGSTOP)
            with ThreadPoolExecutor(1) as pool:
                stalled = pool.submit(conn.execute, f"INSERT INTO {table} VALUES (2, 'stalled')")
                try:  # 1 s + the 3 s TTL; the bound is for a loaded machine
                    error = stalled.exception(timeout=60)
                finally:
                    b.kill(signal.SIGCONT)  # also when the write hangs: the test then fails
            assert isinstance(error, psycopg.Error) and error.sqlstate == "40003", error
            conn.execute("SET statement_timeout = 0")
            conn.execute(f"INSERT INTO {table} VALUES (3, 'after')")
        rows = a.sql(f"SELECT id FROM {table} ORDER BY id")
        assert rows in ([(1,), (3,)], [(1,), (2,), (3,)]), rows
    finally:
        a.stop()
        b.stop()
