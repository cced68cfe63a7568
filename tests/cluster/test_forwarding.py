"""Writes at a member that does not own the namespace (SQL over the wire; HTTP upsert and
delete) are written by the owner and answered with the owner's answer (command tag, row
count, status, body, SQLSTATE); when the owner is killed, a write waits for the new owner
(decision 0058). On a moto bucket and on SeaweedFS (marked)."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.cluster.nodes import BACKENDS, Node, a_and_b, owned_by

FORWARDED = 'elacsym_forwarded_writes_total{door="http"}'
WIRE = 'elacsym_forwarded_writes_total{door="wire"}'
APPENDED = 'elacsym_wal_appends_total{result="committed"}'
SCHEMA = {"schema": {"vector_dim": 2, "attributes": {"title": {"attr_type": "string"}}}}


def _docs(*ids: int) -> dict:
    docs = [{"id": i, "vector": [1.0, i], "attributes": {"title": f"d{i}"}} for i in ids]
    return {"documents": docs}


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_writes_go_to_the_owner(make_settings, tmp_path):
    name, table = owned_by("b", "h"), owned_by("b", "w")
    with a_and_b(make_settings(), tmp_path) as (a, b):
        _wire_writes(a, b, table)
        mine, appended = a.metric(APPENDED), b.metric(APPENDED)
        assert a.call("PUT", f"/v1/namespaces/{name}", SCHEMA)[0] == 200
        path = f"/v1/namespaces/{name}"

        assert a.call("POST", f"{path}/upsert", _docs(1, 2)) == (200, {"count": 2})
        assert a.metric(FORWARDED) == 2  # the namespace's creation (PUT) went to b too
        assert a.metric(APPENDED) == mine and b.metric(APPENDED) == appended + 1  # b wrote it
        # An error comes back as the owner gave it: status, message, SQLSTATE.
        bad = {"documents": [{"id": 3, "vector": [1.0, 2.0, 3.0]}]}
        at_a, at_b = a.call("POST", f"{path}/upsert", bad), b.call("POST", f"{path}/upsert", bad)
        assert at_a == at_b and at_a[0] == 400 and at_a[1]["code"] == "22000", at_a
        assert a.call("POST", f"{path}/delete", {"ids": [2]}) == (200, {"deleted": 1})
        assert a.metric(FORWARDED) == 4 and a.metric(APPENDED) == mine
        found = a.call("POST", f"{path}/query", {"vector": [1.0, 1.0], "top_k": 10})[1]
        assert [r["id"] for r in found["results"]] == [1]

        # The owner dies: a write waits until the others see it down and a new owner (here
        # a itself) takes the namespace, then succeeds, once.
        b.kill(signal.SIGKILL)
        with ThreadPoolExecutor(2) as pool:  # both doors at once, while b is still "live"
            http = pool.submit(a.call, "POST", f"{path}/upsert", _docs(4))
            wire = pool.submit(a.sql, f"INSERT INTO {table} VALUES (9, 'after')")
            assert http.result(120) == (200, {"count": 1})
            assert wire.result(120) == []
        assert a.members()["b"][0] is False
        assert a.metric(APPENDED) == mine + 2  # a owns everything now: it wrote both
        assert a.metric(WIRE) == 8 and a.metric(FORWARDED) == 4
        assert a.sql(f"SELECT id FROM {table} ORDER BY id") == [(1,), (4,), (5,), (9,)]
        found = a.call("POST", f"{path}/query", {"vector": [1.0, 1.0], "top_k": 10})[1]
        assert sorted(r["id"] for r in found["results"]) == [1, 4]


def _wire_writes(a: Node, b: Node, table: str) -> None:
    """SQL writes at a to a table b owns: b writes them, a answers as b would."""
    a.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, v TEXT)")  # DDL too (decision 0090)
    with a.connect() as conn:
        cur = conn.execute(f"INSERT INTO {table} VALUES (%s, %s), (%s, %s)", [1, "x", 2, "y"])
        assert (cur.statusmessage, cur.rowcount) == ("INSERT 0 2", 2)
        cur = conn.execute(f"UPDATE {table} SET v = upper(v) WHERE id > %s", [0])
        assert (cur.statusmessage, cur.rowcount) == ("UPDATE 2", 2)
        cur = conn.execute(f"DELETE FROM {table} WHERE id = 2")
        assert (cur.statusmessage, cur.rowcount) == ("DELETE 1", 1)
    assert a.metric(WIRE) == 4 and a.metric(APPENDED) == 0 and b.metric(APPENDED) == 3
    # Errors are the owner's: SQLSTATE and message.
    for bad in (
        f"INSERT INTO {table} (id, nope) VALUES (3, 'z')",
        f"INSERT INTO {table} VALUES (3, 'z'), (3, 'w')",
        f"INSERT INTO {table} VALUES ('three', 'z')",
    ):
        at_a, at_b = a.error(bad), b.error(bad)
        assert at_a == at_b and at_a[0] not in ("XX000", None), (at_a, at_b)
    assert a.metric(WIRE) == 7
    # Not forwarded (written at a, safely): a transaction block (decision 0085).
    with a.connect() as conn:
        with conn.transaction():
            conn.execute(f"INSERT INTO {table} VALUES (4, 'block')")
        returned = conn.execute(f"INSERT INTO {table} VALUES (5, 'r') RETURNING id").fetchall()
        assert returned == [(5,)]
    assert a.metric(WIRE) == 8 and a.metric(APPENDED) == 1
    assert b.sql(f"SELECT id, v FROM {table} ORDER BY id") == [
        (1, "X"),
        (4, "block"),
        (5, "r"),
    ]
