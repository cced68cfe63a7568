"""An embedded connection opened with `cluster=True` on a cluster's root sends writes to
the namespaces' owners (decision 0084): the owner writes them, the connection gets its
answer (row count, RETURNING rows, SQLSTATE); transaction blocks stay local (DDL goes to
the owner too: test_ddl_forwarding.py); with the owner gone, the connection writes itself
rather than wait."""

from __future__ import annotations

import dataclasses
import signal

import pytest

import elacsym_sql
from elacsym_sql.cluster import owner
from elacsym_sql.metrics import FORWARDED
from tests.cluster.nodes import start_node, wait_for

FAST = {"heartbeat_seconds": 0.5, "heartbeat_ttl_seconds": 3.0}
APPENDED = 'elacsym_wal_appends_total{result="committed"}'


def _forwarded() -> float:
    return FORWARDED.labels("embedded")._value.get()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["s3"])
def test_embedded_writes_go_to_the_owner(make_settings, tmp_path):
    settings = make_settings()
    of_a = next(f"e{i}" for i in range(100) if owner(f"e{i}", ["a", "b"]) == "a")
    of_b = next(f"e{i}" for i in range(100) if owner(f"e{i}", ["a", "b"]) == "b")
    a = start_node(settings, "a", tmp_path, **FAST)
    b = start_node(settings, "b", tmp_path, **FAST)
    mine = dataclasses.asdict(settings) | {"cache_dir": str(tmp_path / "embedded"), **FAST}
    con = None
    try:
        con = elacsym_sql.connect(**mine | {"cluster": True})
        wait_for(lambda: a.members().keys() == {"a", "b"}, what="a sees b")
        for name in (of_a, of_b):
            con.execute(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, v TEXT)")  # forwarded
        before, at_a, at_b = _forwarded(), a.metric(APPENDED), b.metric(APPENDED)
        assert con.execute(f"INSERT INTO {of_a} VALUES (1, 'x'), (2, 'y')").rowcount == 2
        cur = con.execute(f"UPDATE {of_b} SET v = 'z' WHERE id = 1")
        assert cur.rowcount == 0
        cur = con.execute(f"INSERT INTO {of_b} VALUES (?, ?) RETURNING id, upper(v)", [5, "q"])
        assert cur.fetchall() == [(5, "Q")]
        assert [d[0] for d in cur.description] == ["id", "upper"]
        assert con.execute(f"DELETE FROM {of_a} WHERE id = 2").rowcount == 1
        assert (a.metric(APPENDED), b.metric(APPENDED)) == (at_a + 2, at_b + 1)  # UPDATE 0: none
        assert _forwarded() == before + 4
        # The owner's error, with its SQLSTATE.
        with pytest.raises(elacsym_sql.DataError) as refused:
            con.execute(f"INSERT INTO {of_a} VALUES ('one', 'x')")
        assert refused.value.sqlstate == "22P02"
        assert _forwarded() == before + 5
        # A block commits here (decision 0085).
        con.begin()
        con.execute(f"INSERT INTO {of_a} VALUES (3, 'block')")
        con.execute(f"INSERT INTO {of_b} VALUES (3, 'block')")
        con.commit()
        assert _forwarded() == before + 5 and a.metric(APPENDED) == at_a + 2
        # b is killed: the connection writes b's namespace itself, at once, exactly once.
        b.kill(signal.SIGKILL)
        assert con.execute(f"INSERT INTO {of_b} VALUES (6, 'after')").rowcount == 1
        assert _forwarded() == before + 5
        want = [(3, "block"), (5, "q"), (6, "after")]
        assert a.sql(f"SELECT id, v FROM {of_b} ORDER BY id") == want
        assert a.sql(f"SELECT id, v FROM {of_a} ORDER BY id") == [(1, "x"), (3, "block")]
    finally:
        if con is not None:
            con.close()
        a.stop()
        b.stop()
