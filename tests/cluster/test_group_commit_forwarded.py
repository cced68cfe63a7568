"""Writes forwarded to a namespace's owner are group-committed there (decisions 0058, 0076):
32 clients of a non-owner send single-row INSERTs; the owner runs them as its sessions, so
they share WAL objects like its own clients' writes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.cluster.nodes import a_and_b, owned_by

WIRE = 'elacsym_forwarded_writes_total{door="wire"}'
APPENDED = 'elacsym_wal_appends_total{result="committed"}'
CLIENTS, PER_CLIENT = 32, 8


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["s3"])
def test_forwarded_writes_are_batched_on_the_owner(make_settings, tmp_path):
    table = owned_by("b", "g")
    with a_and_b(make_settings(), tmp_path) as (a, b):
        a.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, client BIGINT)")
        forwarded, appended = a.metric(WIRE), b.metric(APPENDED)
        start = threading.Barrier(CLIENTS, timeout=60)

        def client(c: int) -> list[int]:
            with a.connect() as conn:
                start.wait()
                for i in range(PER_CLIENT):
                    conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", [c * 1000 + i, c])
            return [c * 1000 + i for i in range(PER_CLIENT)]

        with ThreadPoolExecutor(CLIENTS) as pool:
            acked = sorted(k for keys in pool.map(client, range(CLIENTS)) for k in keys)
        writes = CLIENTS * PER_CLIENT
        assert a.metric(WIRE) - forwarded == writes  # every one went to the owner
        objects = b.metric(APPENDED) - appended
        assert objects <= writes / 2, f"{objects} WAL objects for {writes} forwarded writes"
        batched = b.sql(f"SELECT batched_writes FROM elacsym_stats('{table}')")[0][0]
        assert batched == writes
        assert [k for (k,) in a.sql(f"SELECT id FROM {table} ORDER BY id")] == acked
