"""Members as separate `elacsym serve` processes on one bucket (moto, and SeaweedFS marked):
each sees the others (SQL `elacsym_cluster()` and HTTP `GET /v1/cluster`) and they agree on
every namespace's owner; a fourth member takes about a quarter of the namespaces; a killed
member drops out within the heartbeat TTL, its namespaces get new owners, and the new owner
indexes the writes it left unfolded; then writes through each of the three left, to all 100
namespaces between them, go to their owners (counted in /metrics) and every member reads
all of them."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from elacsym_sql.cluster import owner
from elacsym_sql.engine import Engine
from elacsym_sql.schema import Column, Schema
from tests.cluster.nodes import BACKENDS, FAST, Node, start_node, wait_for

TTL = FAST["heartbeat_ttl_seconds"]
FOLDING = FAST | {"fold_interval_seconds": 0.5}
NAMESPACES = [f"ns_{i:03d}" for i in range(100)]
WIRE = 'elacsym_forwarded_writes_total{door="wire"}'


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
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
            nodes.append(start_node(settings, node_id, tmp_path, **FOLDING))
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
        nodes.append(start_node(settings, "n4", tmp_path, **FOLDING))
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
        _writes_through_every_member([n for n in nodes if n is not victim], moved_to)
    finally:
        for node in nodes:
            node.stop()


def _writes_through_every_member(members: list[Node], owners: dict[str, str]) -> None:
    """The namespaces dealt out to the members in turn, each member writes a row to each of
    its share at once (row id 100 + its index); a member forwards the writes of namespaces
    it does not own; every member reads every row."""
    forwarded = [node.metric(WIRE) for node in members]
    shares = [NAMESPACES[i :: len(members)] for i in range(len(members))]

    def write(i: int) -> None:
        with members[i].connect() as conn:
            for name in shares[i]:
                conn.execute(f"INSERT INTO {name} VALUES (%s, %s)", [100 + i, members[i].node_id])

    with ThreadPoolExecutor(len(members)) as pool:
        list(pool.map(write, range(len(members))))
    for node, share, before in zip(members, shares, forwarded, strict=True):
        others = sum(owners[name] != node.node_id for name in share)
        assert others and node.metric(WIRE) - before == others, node.node_id
    want = sorted((name, 100 + i, m.node_id) for i, m in enumerate(members) for name in shares[i])
    every_row = " UNION ALL ".join(
        f"SELECT '{name}', id, v FROM {name} WHERE id >= 100" for name in NAMESPACES
    )
    for node in members:
        assert sorted(node.sql(every_row)) == want, node.node_id
