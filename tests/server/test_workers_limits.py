"""max_connections holds for the whole server under `elacsym serve --workers 2`: the
workers share the slots, whichever worker the kernel hands each connection, and a slot
freed by one worker's session is taken by the next client of any worker."""

from __future__ import annotations

import collections
import time

import psycopg
import pytest

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
