"""What a strong read costs in storage requests."""

from __future__ import annotations

from tests.helpers import connection, fold, rows


def _requests(store) -> int:
    return sum(store.request_counts.values())


def test_strong_read_of_an_idle_namespace_is_one_request(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)")
        con.executemany("INSERT INTO kv VALUES (?, ?)", [(i, "x") for i in range(100)])
        fold(con, "kv")
        rows(con, "SELECT count(*) FROM kv")  # warm: manifest read, segment cached
        store = con.database.engine.store
        before = dict(store.request_counts)
        assert rows(con, "SELECT count(*) FROM kv") == [(100,)]
        after = dict(store.request_counts)
        assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
            "get": 1
        }


def test_read_after_another_writer_fetches_only_the_new_record(make_settings):
    with connection(make_settings) as reader, connection(make_settings) as writer:
        reader.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)")
        rows(reader, "SELECT count(*) FROM kv")
        writer.execute("INSERT INTO kv VALUES (1, 'new')")
        store = reader.database.engine.store
        before = _requests(store)
        assert rows(reader, "SELECT v FROM kv") == [("new",)]
        assert _requests(store) - before == 2  # the new WAL object, then the probe past it
