"""Members forwarding to each other cannot wait on each other (issue 11): three members run
statements on 2 threads each, and 6 clients of every member write at once to namespaces the
other two own. Every client session holds one of its member's threads while its write waits
at the owner; had the owners run the forwarded statements on those same threads, all three
would wait until the clients' statement_timeout. Sessions opened by a forwarding member run
on threads of their own, so every write is answered and read back from every member."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from elacsym_sql.cluster import owner
from elacsym_sql.cluster.forward_login import FORWARDED_PREFIX
from elacsym_sql.cluster.pg_forward import LOGIN_TIMEOUT_SECONDS
from tests.cluster.nodes import Node, a_and_b, owned_by, start_node, wait_for

MEMBERS = ["a", "b", "c"]
THREADS = 2
CLIENTS_PER_MEMBER, WRITES_PER_CLIENT = 6, 8
WIRE = 'elacsym_forwarded_writes_total{door="wire"}'
# Members stay live through a loaded machine's pauses: every write is to reach its owner.
STEADY = {"heartbeat_seconds": 1.0, "heartbeat_ttl_seconds": 10.0}


def _owned(prefix: str) -> dict[str, list[str]]:
    """Two namespaces of each member: member -> names."""
    owned: dict[str, list[str]] = {m: [] for m in MEMBERS}
    for i in itertools.count():
        name = f"{prefix}{i}"
        names = owned[owner(name, MEMBERS)]
        if len(names) < 2:
            names.append(name)
        if all(len(names) == 2 for names in owned.values()):
            return owned
    raise AssertionError("unreachable")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["s3"])
def test_members_forwarding_to_each_other_do_not_wait_on_each_other(make_settings, tmp_path):
    settings = make_settings()
    owned = _owned("f")
    nodes: list[Node] = []
    try:
        for member in MEMBERS:
            node = start_node(settings, member, tmp_path, statement_threads=THREADS, **STEADY)
            nodes.append(node)
        for node in nodes:
            wait_for(lambda n=node: n.members().keys() == set(MEMBERS), what="three members")
        for name in (n for names in owned.values() for n in names):
            nodes[0].sql(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, writer TEXT)")
        forwarded = {node.node_id: node.metric(WIRE) for node in nodes}
        start = threading.Barrier(len(nodes) * CLIENTS_PER_MEMBER, timeout=60)

        def client(node: Node, c: int) -> list[tuple[str, int]]:
            """Writes through `node` to the others' namespaces; the (namespace, id) acked."""
            others = [n for m, names in owned.items() if m != node.node_id for n in names]
            acked = []
            with node.connect() as conn:
                conn.execute("SET statement_timeout = '120s'")  # a bound, not a measurement
                start.wait()
                for i in range(WRITES_PER_CLIENT):
                    name, key = (
                        others[(c + i) % len(others)],
                        c * 1000 + i + 100_000 * ord(node.node_id[0]),
                    )
                    conn.execute(f"INSERT INTO {name} VALUES (%s, %s)", [key, node.node_id])
                    acked.append((name, key))
            return acked

        jobs = [(node, c) for node in nodes for c in range(CLIENTS_PER_MEMBER)]
        with ThreadPoolExecutor(len(jobs)) as pool:
            results = list(pool.map(lambda job: client(*job), jobs))
        per_member = CLIENTS_PER_MEMBER * WRITES_PER_CLIENT
        for node in nodes:  # every write went to its owner
            assert node.metric(WIRE) - forwarded[node.node_id] == per_member
        expected: dict[str, set[tuple[int, str]]] = {}
        for (node, _), acked in zip(jobs, results, strict=True):
            for name, key in acked:
                expected.setdefault(name, set()).add((key, node.node_id))
        for node in nodes:
            for name, rows in expected.items():
                assert set(node.sql(f"SELECT id, writer FROM {name}")) == rows
    finally:
        for node in nodes:
            node.stop()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local"])  # routing, whatever the store
def test_a_busy_owner_is_waited_for_not_taken_for_gone(make_settings, tmp_path):
    """b's only thread for forwarded sessions is busy for longer than a login may take
    (LOGIN_TIMEOUT_SECONDS), so the session a opens there to forward a write starts late.
    b accepted the login at once and heartbeats: a waits for it, rather than giving the
    connection up as unreachable and trying again."""
    table = owned_by("b", "busy")
    with a_and_b(make_settings(), tmp_path, statement_threads=1, **STEADY) as (a, b):
        b.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY)")  # a has no connection to b yet
        busy = psycopg.connect(
            f"host=127.0.0.1 port={b.pg_port} application_name={FORWARDED_PREFIX}test",
            autocommit=True,
        )
        with busy, ThreadPoolExecutor(1) as pool:
            sleeping = pool.submit(busy.execute, f"SELECT pg_sleep({LOGIN_TIMEOUT_SECONDS * 3})")
            time.sleep(2)  # the sleep has b's thread (else the write ends first: the test fails)
            a.sql(f"INSERT INTO {table} VALUES (1)")
            assert sleeping.done()  # the write started once the sleep had ended
        assert b.sql(f"SELECT id FROM {table}") == [(1,)]
        assert "unreachable" not in (tmp_path / "a.log").read_text()
