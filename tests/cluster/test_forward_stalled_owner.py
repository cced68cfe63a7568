"""An owner that stops answering (SIGSTOP) past the heartbeat TTL, on a moto bucket and on
SeaweedFS (marked):
- a forwarded write does not hang its client for ever: the client's statement_timeout is
  passed on to the owner as a cancel, and an owner silent for a TTL after it makes the write
  end with 40003 (it may have been applied, later: it is there at most once, never sent
  again to the new owner);
- writes through the other member go on once it sees the owner down (it owns the namespace
  then), and after SIGCONT both members write it while each may still believe it owns it:
  no acknowledged write is lost, reordered or duplicated (decisions 0057, 0084);
- an owner that is live but turns connections away (full) gets the write once it has room.

Every write bumps a counter and appends its mark to a trail on one row (acknowledged ones
1, 2, 3, ...; the one that ended with 40003 "s"), so the row shows which writes applied,
how often and in which order."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.cluster.nodes import BACKENDS, Node, a_and_b, owned_by, wait_for

EAGER = {"fold_min_rows": 1, "fold_interval_seconds": 0.2}  # both fold as often as they can


def _ledger(table: str, mark: int | str) -> str:
    return f"UPDATE {table} SET n = n + 1, trail = trail || ' {mark}' WHERE id = 0"


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_stalled_owner_loses_reorders_and_duplicates_nothing(make_settings, tmp_path):
    table = owned_by("b", "s")
    with a_and_b(make_settings(), tmp_path, **EAGER) as (a, b):
        a.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, n BIGINT, trail TEXT)")
        acked = 0

        def write(node: Node) -> None:
            nonlocal acked
            node.sql(_ledger(table, acked + 1))
            acked += 1

        with a.connect() as conn:
            conn.execute(f"INSERT INTO {table} VALUES (0, 0, '')")  # pools a connection to b
            write(a)
            write(b)
            conn.execute("SET statement_timeout = '1s'")
            b.kill(signal.SIGSTOP)
            try:
                with ThreadPoolExecutor(1) as pool:
                    stalled = pool.submit(conn.execute, _ledger(table, "s"))
                    error = stalled.exception(timeout=60)  # 1 s + the 3 s TTL, when loaded
                assert isinstance(error, psycopg.Error) and error.sqlstate == "40003", error
                wait_for(lambda: not a.members()["b"][0], what="a sees b down")
                for _ in range(3):  # a owns the namespace now: it writes them itself
                    write(a)
            finally:
                b.kill(signal.SIGCONT)  # also when the test fails
        for node in (b, a, b, a):  # b may still believe it owns the namespace, a too
            write(node)
        for node in (a, b):
            [(n, trail)] = node.sql(f"SELECT n, trail FROM {table}")
            marks = trail.split()
            assert [m for m in marks if m != "s"] == [str(k) for k in range(1, acked + 1)], trail
            assert marks.count("s") <= 1 and n == len(marks), (n, trail)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local"])  # routing, whatever the store
def test_a_live_owner_that_turns_a_write_away_gets_it_once_it_has_room(make_settings, tmp_path):
    """An owner that refuses a connection for a while (full: 53300) but heartbeats is tried
    again: the write lands once it has room, instead of 57P03 when the wait for a new owner
    (the TTL: a long one here) ends with none."""
    table = owned_by("b", "full")
    with a_and_b(make_settings(), tmp_path, max_connections=3, heartbeat_ttl_seconds=20) as (a, b):
        b.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY)")
        held: list[psycopg.Connection] = []
        try:
            while True:  # fill b (a closed session's slot is freed a moment after it ends)
                try:
                    held.append(b.connect())
                except psycopg.OperationalError as exc:
                    assert "too many clients" in str(exc), exc
                    break
            with ThreadPoolExecutor(1) as pool:
                write = pool.submit(a.sql, f"INSERT INTO {table} VALUES (1)")
                log = tmp_path / "a.log"
                wait_for(lambda: f"owner b of {table} unreachable" in log.read_text(),
                         what="a turned away by b")  # fmt: skip
                for conn in held:
                    conn.close()
                held = []
                write.result(timeout=60)
        finally:
            for conn in held:
                conn.close()
        assert b.sql(f"SELECT id FROM {table}") == [(1,)]
