"""HTTP upserts and deletes at a member that does not own the namespace are written by the
owner and answered with the owner's answer (status, body, SQLSTATE); when the owner is
killed, the write waits for the new owner (decision 0058)."""

from __future__ import annotations

import signal

import pytest

from elacsym_sql.cluster import owner
from tests.cluster.nodes import start_node, wait_for

FAST = {"heartbeat_seconds": 0.5, "heartbeat_ttl_seconds": 3.0}
FORWARDED = 'elacsym_forwarded_writes_total{door="http"}'
APPENDED = 'elacsym_wal_appends_total{result="committed"}'
SCHEMA = {"schema": {"vector_dim": 2, "attributes": {"title": {"attr_type": "string"}}}}


def _docs(*ids: int) -> dict:
    docs = [{"id": i, "vector": [1.0, i], "attributes": {"title": f"d{i}"}} for i in ids]
    return {"documents": docs}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["s3"])
def test_http_writes_go_to_the_owner(make_settings, tmp_path):
    settings = make_settings()
    name = next(f"h{i}" for i in range(100) if owner(f"h{i}", ["a", "b"]) == "b")
    a = start_node(settings, "a", tmp_path, **FAST)
    b = start_node(settings, "b", tmp_path, **FAST)
    try:
        wait_for(lambda: a.members().keys() == {"a", "b"}, what="a sees b")
        assert a.call("PUT", f"/v1/namespaces/{name}", SCHEMA)[0] == 200
        path = f"/v1/namespaces/{name}"

        assert a.call("POST", f"{path}/upsert", _docs(1, 2)) == (200, {"count": 2})
        assert a.metric(FORWARDED) == 1
        assert a.metric(APPENDED) == 0 and b.metric(APPENDED) == 1  # b wrote it
        # An error comes back as the owner gave it: status, message, SQLSTATE.
        bad = {"documents": [{"id": 3, "vector": [1.0, 2.0, 3.0]}]}
        at_a, at_b = a.call("POST", f"{path}/upsert", bad), b.call("POST", f"{path}/upsert", bad)
        assert at_a == at_b and at_a[0] == 400 and at_a[1]["code"] == "22000", at_a
        assert a.call("POST", f"{path}/delete", {"ids": [2]}) == (200, {"deleted": 1})
        assert a.metric(FORWARDED) == 3 and a.metric(APPENDED) == 0
        found = a.call("POST", f"{path}/query", {"vector": [1.0, 1.0], "top_k": 10})[1]
        assert [r["id"] for r in found["results"]] == [1]

        # The owner dies: a write waits until the others see it down and a new owner (here
        # a itself) takes the namespace, then succeeds, once.
        b.kill(signal.SIGKILL)
        assert a.call("POST", f"{path}/upsert", _docs(4)) == (200, {"count": 1})
        assert a.members()["b"][0] is False
        assert a.metric(APPENDED) == 1
        found = a.call("POST", f"{path}/query", {"vector": [1.0, 1.0], "top_k": 10})[1]
        assert sorted(r["id"] for r in found["results"]) == [1, 4]
    finally:
        a.stop()
        b.stop()
