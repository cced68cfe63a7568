"""`elacsym_cluster()`, `elacsym_owner(ns)` and `GET /v1/cluster` outside a cluster (a
cluster of one) and on a member (tests/cluster/test_cluster_nodes.py covers several)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from elacsym_sql.cluster import ClusterNode
from elacsym_sql.engine import EngineApi
from elacsym_sql.http.server import BackgroundHttpServer
from tests.helpers import connection, rows


@pytest.mark.parametrize("backend", ["local"])
def test_outside_a_cluster_a_node_is_a_cluster_of_one(make_settings):
    with connection(make_settings, node_id="solo") as con:
        con.execute("CREATE TABLE a (id BIGINT PRIMARY KEY)")
        con.execute("CREATE TABLE b (id BIGINT PRIMARY KEY)")
        assert rows(con, "SELECT * FROM elacsym_cluster()") == [
            ("solo", "indexer", None, None, True, None, 2, True)
        ]
        assert rows(con, "SELECT elacsym_owner('a'), elacsym_owner(NULL)") == [("solo", None)]
        http = BackgroundHttpServer(EngineApi(con.database.engine)).start()
        try:
            url = f"http://127.0.0.1:{http.port}/v1/cluster"
            with urllib.request.urlopen(url, timeout=30) as answer:
                body = json.loads(answer.read())
        finally:
            http.stop()
        assert body["node_id"] == "solo"
        assert [(m["node_id"], m["live"], m["namespaces"]) for m in body["members"]] == [
            ("solo", True, 2)
        ]


@pytest.mark.parametrize("backend", ["local"])
def test_a_member_lists_itself_with_its_address(make_settings):
    with connection(make_settings, node_id="m1", cluster=True) as con:
        con.execute("CREATE TABLE a (id BIGINT PRIMARY KEY)")
        node = ClusterNode(con.database.engine, con.database.settings)
        con.database.cluster = node.start(None)
        try:
            (row,) = rows(con, "SELECT node_id, live, namespaces, this_node FROM elacsym_cluster()")
            assert row == ("m1", True, 1, True)
            assert rows(con, "SELECT elacsym_owner('a')") == [("m1",)]
        finally:
            node.stop()
        # stopped: its heartbeat is retired; it is no member and owns nothing
        assert not node.owns("a")
        assert rows(con, "SELECT * FROM elacsym_cluster()") == []
