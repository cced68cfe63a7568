"""Members as separate `elacsym serve` processes on one moto bucket: each sees the others
(SQL `elacsym_cluster()` and HTTP `GET /v1/cluster`) and they agree on every namespace's
owner; a fourth member takes about a quarter of the namespaces; a killed member drops out
within the heartbeat TTL, its namespaces get new owners, and the new owner indexes the
writes it left unfolded."""

from __future__ import annotations

import signal

import pytest

from elacsym_sql.cluster import owner
from elacsym_sql.engine import Engine
from elacsym_sql.schema import Column, Schema
from tests.cluster.nodes import start_node, wait_for

TTL = 3.0
FAST = {"heartbeat_seconds": 0.5, "heartbeat_ttl_seconds": TTL, "fold_interval_seconds": 0.5}
NAMESPACES = [f"ns_{i:03d}" for i in range(100)]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["s3"])
def test_membership_ownership_join_and_kill(make_settings, tmp_path):
    settings = make_settings()
    engine = Engine(settings)  # the engine's create: SQL's re-reads every namespace
    try:
        for name in NAMESPACES:
            engine.create(Schema(name, (Column("id", "BIGINT"), Column("v", "VARCHAR")), "id"))
    finally:
        engine.close()
    nodes = []
    try:
        for node_id in ("n1", "n2", "n3"):
            nodes.append(start_node(settings, node_id, tmp_path, **FAST))
        three = ["n1", "n2", "n3"]
        for node in nodes:  # every member sees all three live, whoever started first
            wait_for(lambda n=node: n.members().keys() == set(three), what="three members")
        expected = {ns: owner(ns, three) for ns in NAMESPACES}
        for node in nodes:
            members = node.members()
            assert all(live for live, _ in members.values())
            assert sum(owned for _, owned in members.values()) == len(NAMESPACES)
            assert {n: owned for n, (_, owned) in members.items()} == {
                n: list(expected.values()).count(n) for n in three
            }
            assert node.owners(NAMESPACES) == expected
        http = nodes[0].http("/v1/cluster")
        assert http["node_id"] == "n1"
        assert [(m["node_id"], m["live"], m["this_node"]) for m in http["members"]] == [
            ("n1", True, True),
            ("n2", True, False),
            ("n3", True, False),
        ]
        assert http["members"][1]["pg_address"] == f"127.0.0.1:{nodes[1].pg_port}"
        assert http["members"][1]["http_address"] == f"127.0.0.1:{nodes[1].http_port}"

        # A fourth member joins: about a quarter of the namespaces move, all of them to it.
        nodes.append(start_node(settings, "n4", tmp_path, **FAST))
        four = [*three, "n4"]
        wait_for(lambda: nodes[0].members().keys() == set(four), what="n1 sees n4")
        after = nodes[0].owners(NAMESPACES)
        moved = [ns for ns in NAMESPACES if after[ns] != expected[ns]]
        assert all(after[ns] == "n4" for ns in moved)
        assert 12 <= len(moved) <= 38, len(moved)  # about 25 of 100
        assert after == {ns: owner(ns, four) for ns in NAMESPACES}
        for node in nodes:
            wait_for(lambda n=node: n.owners(NAMESPACES) == after, what=f"{node.node_id} agrees")

        # Writes through n1 to a namespace n2 owns: n1 does not fold them, n2 is about to
        # die with them unfolded (it looked at its namespaces when it started, before).
        victim = nodes[1]
        target = next(ns for ns in NAMESPACES if after[ns] == "n2")
        nodes[0].sql(f"INSERT INTO {target} VALUES (1, 'a'), (2, 'b')")
        unindexed = f"SELECT unindexed_rows FROM elacsym_stats('{target}')"
        assert nodes[0].sql(unindexed) == [(2,)]

        victim.kill(signal.SIGKILL)  # no clean stop: its heartbeat stays until it ages out
        left = ["n1", "n3", "n4"]
        moved_to = {ns: owner(ns, left) for ns in NAMESPACES}
        took = wait_for(
            lambda: all(not n.members()["n2"][0] for n in nodes if n is not victim),
            what="n2 seen down by every survivor",
        )
        print(f"n2 seen down by all survivors {took:.1f} s after SIGKILL (TTL {TTL} s)")
        for node in nodes:
            if node is victim:
                continue
            members = node.members()
            assert members["n2"] == (False, 0)  # listed as down, owning nothing
            assert sum(owned for _, owned in members.values()) == len(NAMESPACES)
            wait_for(lambda n=node: n.owners(NAMESPACES) == moved_to, what="new owners")
        new_owner = owner(target, left)
        assert new_owner != "n2"
        # The new owner took over the unfolded writes and indexed them.
        wait_for(lambda: nodes[0].sql(unindexed) == [(0,)], what=f"{new_owner} folds {target}")
        assert nodes[2].sql(f"SELECT id, v FROM {target} ORDER BY id") == [(1, "a"), (2, "b")]
    finally:
        for node in nodes:
            node.stop()
