"""Group commit over the wire (decision 0076): 32 psycopg clients each sending single-row
INSERTs to one namespace get no 40001, every acknowledged row is stored once, a statement
breaking a constraint fails alone with its SQLSTATE, and the WAL takes far fewer objects
than statements."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg

from tests.helpers import rows

CLIENTS, PER_CLIENT = 32, 10


def _wal_puts(con, name: str) -> int:
    counts = con.database.engine.store.requests_of(name)
    return counts["conditional_put"] + counts["put"]


def test_concurrent_clients_share_wal_objects(wire, dsn):
    _, con = wire
    con.execute("CREATE TABLE hot (id BIGINT PRIMARY KEY, client BIGINT, n BIGINT CHECK (n >= 0))")
    puts = _wal_puts(con, "hot")
    start = threading.Barrier(CLIENTS, timeout=60)

    def client(c: int) -> tuple[list[int], list[str]]:
        acked, failed = [], []
        with psycopg.connect(dsn, autocommit=True) as pg:
            start.wait()
            for i in range(PER_CLIENT):
                bad = (c + i) % 9 == 0  # breaks the CHECK
                key = c * 1000 + i
                try:
                    pg.execute("INSERT INTO hot VALUES (%s, %s, %s)", [key, c, -1 if bad else i])
                except psycopg.errors.CheckViolation as exc:
                    assert bad
                    failed.append(exc.sqlstate)
                    continue
                assert not bad
                acked.append(key)
        return acked, failed

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))
    acked = sorted(k for a, _ in results for k in a)
    failed = [s for _, f in results for s in f]
    bad = sum((c + i) % 9 == 0 for c in range(CLIENTS) for i in range(PER_CLIENT))
    assert failed == ["23514"] * bad
    assert len(acked) == CLIENTS * PER_CLIENT - bad
    with psycopg.connect(dsn, autocommit=True) as pg:
        stored = [k for (k,) in pg.execute("SELECT id FROM hot ORDER BY id").fetchall()]
    assert stored == acked  # each acknowledged row, once; none of the failed ones
    wal_puts = _wal_puts(con, "hot") - puts
    assert wal_puts <= len(acked) / 2, f"{wal_puts} WAL objects for {len(acked)} writes"
    batches, batched = rows(con, "SELECT wal_batches, batched_writes FROM elacsym_stats('hot')")[0]
    assert batched == len(acked) and batches == wal_puts
