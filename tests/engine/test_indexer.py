"""The background indexer folds the WAL tail and merges small segments by itself."""

from __future__ import annotations

import time

from tests.helpers import connection, rows


def _wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_writes_are_folded_and_small_segments_merged(make_settings):
    with connection(
        make_settings, indexer=True, fold_interval_seconds=0.05, compact_min_segments=3
    ) as con:
        con.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)")
        for batch in range(6):
            con.executemany(
                "INSERT INTO kv VALUES (?, ?)", [(batch * 10 + i, "x") for i in range(10)]
            )
            assert _wait_for(lambda: con.stats("kv")["unindexed_rows"] == 0)
        assert _wait_for(lambda: con.stats("kv")["segments"] < 3)
        assert rows(con, "SELECT count(*) FROM kv") == [(60,)]


def test_a_reader_does_not_index(make_settings):
    with connection(make_settings) as writer:
        writer.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)")
        writer.execute("INSERT INTO kv VALUES (1, 'x')")
        with connection(make_settings, indexer=True, fold_interval_seconds=0.05) as reader:
            assert rows(reader, "SELECT count(*) FROM kv") == [(1,)]
            time.sleep(0.5)  # several indexer ticks; nothing to assert on time, only on state
            assert reader.stats("kv")["unindexed_rows"] == 1
