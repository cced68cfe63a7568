"""Dirty markers (decision 0086), on the real stores: a process appending to a namespace
it does not own marks it first, at most once a refresh period; an owner's delete of a
marker it listed spares one made again since."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from elacsym_sql.engine import DirtyMarks
from elacsym_sql.errors import StorageError
from elacsym_sql.layout import dirty_key, wal_prefix
from elacsym_sql.storage import ObjectNotFound, open_store
from elacsym_sql.testing.faulty_s3 import FaultyS3Proxy
from tests.helpers import connection

REFRESH = 0.5


@pytest.fixture
def store(make_settings) -> Iterator:
    s = open_store(make_settings())
    yield s
    s.close()


def _puts(store) -> int:
    return store.request_counts["put"]


def test_a_mark_is_made_again_only_after_the_refresh_period(store):
    marks = DirtyMarks(store, 60.0)
    assert marks.mark("ns") is True
    puts = _puts(store)
    assert marks.mark("ns") is False  # within the refresh period: no request
    assert marks.mark("other") is True  # each namespace has its own
    assert _puts(store) == puts + 1
    assert sorted(m.namespace for m in marks.listed()) == ["ns", "other"]
    quick = DirtyMarks(store, REFRESH)
    assert quick.mark("ns") is True
    first = store.get(dirty_key("ns"))
    time.sleep(REFRESH)
    assert quick.mark("ns") is True  # the period is over
    again = store.get(dirty_key("ns"))
    assert again != first  # a new body, so a new ETag
    assert json.loads(again)["by"] == json.loads(first)["by"]


def test_expiring_a_listed_mark_spares_one_made_since(store):
    writer, other_writer = DirtyMarks(store, REFRESH), DirtyMarks(store, REFRESH)
    writer.mark("ns")
    (listed,) = writer.listed()
    assert listed.listed.mtime > 0
    other_writer.mark("ns")  # between the owner's LIST and its DELETE
    assert writer.expire(listed) is False
    (again,) = writer.listed()
    assert writer.expire(again) is True
    assert writer.listed() == []
    with pytest.raises(ObjectNotFound):
        store.get(dirty_key("ns"))


def test_an_embedded_process_marks_every_namespace_it_writes(make_settings):
    with connection(make_settings, dirty_mark_seconds=60) as con:
        engine = con.database.engine
        con.execute("CREATE TABLE a (id BIGINT PRIMARY KEY)")
        con.execute("CREATE TABLE b (id BIGINT PRIMARY KEY)")
        assert engine.dirty.listed() == []  # CREATE appends nothing
        con.execute("INSERT INTO a VALUES (1)")
        puts = _puts(engine.store)
        con.execute("INSERT INTO a VALUES (2)")  # marked a moment ago: one PUT, the WAL's
        assert _puts(engine.store) - puts == 1
        con.execute("BEGIN")
        con.execute("INSERT INTO a VALUES (3)")
        con.execute("INSERT INTO b VALUES (3)")
        con.execute("COMMIT")  # a multi-namespace commit appends to both
        assert sorted(m.namespace for m in engine.dirty.listed()) == ["a", "b"]


def test_a_member_marks_only_what_it_does_not_own_and_hands_over(make_settings):
    owned = {"mine"}
    with connection(make_settings) as con:
        engine = con.database.engine
        engine.set_ownership(lambda name: name in owned)
        for name in ("mine", "theirs"):
            con.execute(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY)")
            con.execute(f"INSERT INTO {name} VALUES (1)")
        assert [m.namespace for m in engine.dirty.listed()] == ["theirs"]
        # Ownership moves away with our write to "mine" unfolded (indexer off): the new
        # owner may have looked before it landed, so it is marked.
        owned.clear()
        engine.hand_over()
        assert sorted(m.namespace for m in engine.dirty.listed()) == ["mine", "theirs"]


@pytest.mark.parametrize("backend", ["s3"])
def test_the_mark_comes_before_the_append(make_settings, moto_server):
    with FaultyS3Proxy(moto_server) as proxy:
        settings = make_settings(s3_endpoint=proxy.endpoint, storage_deadline_seconds=0)
        with connection(lambda **kw: settings) as con:
            store = con.database.engine.store
            con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)")
            proxy.fail_next("error_500", method="PUT")  # the statement's first PUT
            with pytest.raises(StorageError):
                con.execute("INSERT INTO t VALUES (1)")
            assert list(store.list(wal_prefix("t"))) == []  # the append never ran
            con.execute("INSERT INTO t VALUES (1)")
            assert [m.namespace for m in con.database.engine.dirty.listed()] == ["t"]
            assert len(list(store.list(wal_prefix("t")))) == 1
