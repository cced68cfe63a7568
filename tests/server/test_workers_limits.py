"""max_connections and the failed-login limit hold for the whole server under `elacsym
serve --workers 2`: the workers share the slots and the failures, whichever worker the
kernel hands each connection, and a slot freed by one worker's session is taken by the
next client of any worker."""

from __future__ import annotations

import collections
import os
import time

import psycopg
import pytest

from elacsym_sql.server.shared_login_guard import SharedLoginGuard
from elacsym_sql.server.worker_slot import worker_of
from elacsym_sql.testing.served import serve

LIMIT = 3
pytestmark = pytest.mark.slow  # two server processes


def connect(port: int) -> psycopg.Connection | None:
    """A new session, or None when refused with 53300."""
    try:
        return psycopg.connect(f"host=127.0.0.1 port={port} user=u dbname=e", autocommit=True)
    except psycopg.OperationalError as exc:
        assert "sorry, too many clients already" in str(exc), exc
        return None


def test_max_connections_counts_the_sessions_of_every_worker(tmp_path):
    with serve(tmp_path, "--workers", "2", "--max-connections", str(LIMIT)) as srv:
        held, refused = [], 0
        for _ in range(4 * LIMIT):  # enough tries for both workers to be handed some
            conn = connect(srv.port)
            if conn is None:
                refused += 1
            else:
                held.append(conn)
        workers = collections.Counter(worker_of(c.info.backend_pid) for c in held)
        try:
            assert len(held) == LIMIT, f"{len(held)} sessions admitted by workers {workers}"
            assert refused == 3 * LIMIT
            held.pop().close()
            for _ in range(100):  # the server notices the closed session shortly
                conn = connect(srv.port)
                if conn is not None:
                    held.append(conn)
                    break
                time.sleep(0.1)
            else:
                pytest.fail("a freed slot was not given to a new client")
            assert connect(srv.port) is None
        finally:
            for conn in held:
                conn.close()


def test_failed_logins_are_limited_across_workers(tmp_path):
    users = tmp_path / "users.toml"
    users.write_text('[users]\nalice = "right"\n')
    options = ("--workers", "2", "--auth", "password", "--users", str(users),
               "--auth-failure-limit", str(LIMIT))  # fmt: skip
    with serve(tmp_path, *options) as srv:

        def login(password: str) -> str:
            dsn = f"host=127.0.0.1 port={srv.port} user=alice password={password} dbname=e"
            try:
                psycopg.connect(dsn).close()
                return "in"
            except psycopg.OperationalError as exc:
                return "limited" if "too many failed authentication" in str(exc) else "wrong"

        assert login("right") == "in"
        tries = [login("guess") for _ in range(4 * LIMIT)]
        assert tries == ["wrong"] * LIMIT + ["limited"] * 3 * LIMIT, tries
        assert login("right") == "limited"  # refused before any password is checked


def test_the_shared_guard_forgets_failures_after_the_window(tmp_path):
    clock = [1000.0]
    guard = SharedLoginGuard(str(tmp_path), limit=2, window_seconds=60, now=lambda: clock[0])
    other = SharedLoginGuard(str(tmp_path), limit=2, window_seconds=60, now=lambda: clock[0])
    assert guard.failed("10.0.0.1") == 1
    assert other.failed("10.0.0.1") == 2  # another worker sees the first failure
    assert guard.refused("10.0.0.1") and not guard.refused("10.0.0.2")
    clock[0] += 61
    assert not other.refused("10.0.0.1")
    assert guard.failed("10.0.0.1") == 1
    for entry in tmp_path.iterdir():  # written long ago: nothing of it is in the window
        os.utime(entry, (clock[0] - 120, clock[0] - 120))
    guard.sweep()
    assert list(tmp_path.iterdir()) == []
