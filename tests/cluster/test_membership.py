"""Heartbeats and membership: ages on the object store's clock (a host's clock skew does not
matter), a stale member is down, a closed --peers list, and a node that cannot renew its
own heartbeat owns nothing."""

from __future__ import annotations

import os
import time

import pytest

from elacsym_sql.cluster import ClusterNode
from elacsym_sql.cluster.heartbeat import Heartbeats
from elacsym_sql.cluster.membership import UNKNOWN_ROLE, Self, members, owners, strangers
from elacsym_sql.cluster.peers import Address, parse_peers
from elacsym_sql.engine import Engine
from elacsym_sql.errors import InvalidParameterValue

TTL = 5.0


def _me(beats: Heartbeats) -> Self:
    return Self(beats.node_id, "indexer", None, beats.since_renewal())


def test_members_see_each_other_live(store):
    a = Heartbeats(store, "a", "indexer")
    b = Heartbeats(store, "b", "query")
    a.advertise(Address("127.0.0.1", 5433, 3000))
    for beat in (a, b):
        beat.renew()
    found = members(a.read(), _me(a), None, TTL)
    assert [(m.node_id, m.role, m.live, m.is_self) for m in found] == [
        ("a", "indexer", True, True),
        ("b", "query", True, False),
    ]
    assert all(m.age is not None and m.age < TTL for m in found)
    assert owners(found) == ("a",)  # a query node never owns
    seen_by_b = {m.node_id: m for m in members(b.read(), _me(b), None, TTL)}
    assert seen_by_b["a"].address == Address("127.0.0.1", 5433, 3000)
    b.retire()
    assert [m.node_id for m in members(a.read(), _me(a), None, TTL)] == ["a"]


@pytest.mark.parametrize("backend", ["local"])
def test_ages_use_the_store_clock_not_the_hosts(store):
    a, b = Heartbeats(store, "a", "indexer"), Heartbeats(store, "b", "indexer")
    a.renew()
    b.renew()

    def stamp(beats: Heartbeats, shift: float) -> None:
        path = os.path.join(store.root, beats.key)
        mtime = os.stat(path).st_mtime + shift
        os.utime(path, (mtime, mtime))

    # The store's clock is an hour ahead of this host's: both are still fresh.
    stamp(a, 3600)
    stamp(b, 3600)
    ages = {m.node_id: m.age for m in members(a.read(), _me(a), None, TTL)}
    assert ages["b"] is not None and ages["b"] < TTL
    # b's last renewal was 30 s before a's on the store's clock: b is down.
    stamp(b, -30)
    found = {m.node_id: m for m in members(a.read(), _me(a), None, TTL)}
    assert not found["b"].live and 29 < found["b"].age < 31
    assert found["a"].live


def test_closed_peer_list(store):
    peers = parse_peers("a=10.0.0.1:5433,b")
    a, stranger = Heartbeats(store, "a", "indexer"), Heartbeats(store, "zed", "indexer")
    a.renew()
    stranger.renew()
    found = members(a.read(), _me(a), peers, TTL)
    assert [(m.node_id, m.live, m.role) for m in found] == [
        ("a", True, "indexer"),
        ("b", False, UNKNOWN_ROLE),  # listed, never heard from
    ]  # zed heartbeats but is not listed: not a member


def test_a_listed_node_running_workers_is_its_workers(store):
    peers = parse_peers("a=10.0.0.1:5433,b=10.0.0.2:5433,c")
    beats = {}
    for node_id, port in (("a-w0", 7000), ("a-w1", 7001), ("b", 0), ("zed-w0", 7002)):
        beats[node_id] = Heartbeats(store, node_id, "indexer")
        beats[node_id].advertise(Address("10.0.0.1", port) if port else None)
        beats[node_id].renew()
    me = beats["a-w0"]
    found = members(me.read(), Self("a-w0", "indexer", Address("10.0.0.1", 7000), 0.0), peers, TTL)
    assert [(m.node_id, m.live) for m in found] == [
        ("a-w0", True),
        ("a-w1", True),
        ("b", True),
        ("c", False),
    ]  # a is its workers; zed's worker is no member
    # Workers are reached at their own (private) ports, a plain node at its listed one.
    assert [m.address for m in found[:3]] == [
        Address("10.0.0.1", 7000),
        Address("10.0.0.1", 7001),
        Address("10.0.0.2", 5433),
    ]
    assert strangers(me.read(), peers) == {"zed-w0"}


def test_a_node_that_cannot_renew_owns_nothing(make_settings):
    engine = Engine(make_settings(cluster=True, heartbeat_seconds=0.1, heartbeat_ttl_seconds=0.5))
    try:
        node = ClusterNode(engine, engine.settings)
        assert not node.owns("docs")  # before its first heartbeat
        node.round()
        assert node.owns("docs") and node.owner_of("docs") == engine.settings.node_id
        time.sleep(0.6)  # no renewal within the TTL (no thread runs rounds here)
        assert not node.owns("docs")
    finally:
        engine.close()


def test_a_node_must_be_among_its_peers(make_settings):
    engine = Engine(make_settings(node_id="c", peers="a,b"))
    try:
        with pytest.raises(InvalidParameterValue, match="'c' is not among --peers"):
            ClusterNode(engine, engine.settings)
    finally:
        engine.close()


def test_static_peers_give_addresses_and_close_membership(make_settings):
    peers = "a=127.0.0.1:5001:3001,b=127.0.0.1:5002"
    engines = [Engine(make_settings(node_id=n, peers=peers)) for n in ("a", "b", "z")]
    nodes: list[ClusterNode] = []
    try:
        with pytest.raises(InvalidParameterValue):
            ClusterNode(engines[2], engines[2].settings)  # z is not listed
        z = Heartbeats(engines[2].store, "z", "indexer")  # ...and heartbeats anyway
        z.renew()
        nodes = [ClusterNode(e, e.settings) for e in engines[:2]]
        nodes[0].start(Address("10.9.9.9", 1, 2))  # the list's address wins
        nodes[1].start(None)
        nodes[0].round()
        found = {m.node_id: m for m in nodes[0].members()}
        assert sorted(found) == ["a", "b"]  # z is no member
        assert found["a"].address == Address("127.0.0.1", 5001, 3001)
        assert found["b"].address == Address("127.0.0.1", 5002, None) and found["b"].live
        assert nodes[0].owners() == ("a", "b")
    finally:
        for node in nodes:
            node.stop()
        for engine in engines:
            engine.close()
