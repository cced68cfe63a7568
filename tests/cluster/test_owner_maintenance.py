"""Only a namespace's owner folds, compacts and collects it: a member that writes to a
namespace it does not own leaves its indexing to the owner, which picks it up when it
sweeps its namespaces."""

from __future__ import annotations

import time

from elacsym_sql.cluster import ClusterNode, owner
from tests.helpers import connection, rows

FAST = dict(
    cluster=True,
    indexer=True,
    heartbeat_seconds=0.2,
    heartbeat_ttl_seconds=2.0,
    fold_interval_seconds=0.1,  # the indexer ticks every 0.05 s
    manifest_refresh_seconds=0.1,
)


def _name_owned_by(node_id: str) -> str:
    return next(f"t{i}" for i in range(100) if owner(f"t{i}", ["a", "b"]) == node_id)


def _version(con, name: str) -> int:
    return con.database.engine.namespace(name).snapshot().manifest.version


def _wait(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_only_the_owner_folds(make_settings):
    mine_a, mine_b = _name_owned_by("a"), _name_owned_by("b")
    with (
        connection(make_settings, node_id="a", **FAST) as a,
        connection(make_settings, node_id="b", **FAST) as b,
    ):
        nodes = [ClusterNode(c.database.engine, c.database.settings) for c in (a, b)]
        try:
            for node in nodes:
                node.start(None)
            nodes[0].round()  # a has seen b's first heartbeat too
            assert [n.owners() for n in nodes] == [("a", "b"), ("a", "b")]
            for name in (mine_a, mine_b):
                b.execute(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, v TEXT)")
                b.execute(f"INSERT INTO {name} VALUES (1, 'x'), (2, 'y')")
            # b folds what it owns...
            assert _wait(lambda: _version(b, mine_b) > 1), "b never folded its namespace"
            # ...and never what a owns, though b wrote it: after b's indexer has had many
            # more ticks, a's namespace is still at its first version, the writes unfolded.
            time.sleep(1.0)
            assert _version(b, mine_a) == 1
            assert b.database.engine.stats(mine_a)["unindexed_rows"] == 2
            # a folds it when it looks at its namespaces (at start, when owners change, and
            # every SWEEP_SECONDS)
            nodes[0].sweep()
            assert _wait(lambda: _version(a, mine_a) > 1), "the owner never folded"
            # b reads the owner's fold once its manifest is manifest_refresh_seconds old
            assert _wait(lambda: b.database.engine.stats(mine_a)["unindexed_rows"] == 0)
            assert rows(b, f"SELECT id, v FROM {mine_a} ORDER BY id") == [(1, "x"), (2, "y")]
        finally:
            for node in nodes:
                node.stop()
