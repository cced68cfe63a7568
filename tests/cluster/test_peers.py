"""--peers and node ids: what is accepted, and the message for what is not."""

from __future__ import annotations

import pytest

from elacsym_sql.cluster.peers import Address, Peer, check_node_id, parse_peers
from elacsym_sql.errors import InvalidParameterValue


def test_peers_with_and_without_addresses():
    peers = parse_peers("a=10.0.0.1:5433:3000, b=host-b:6000 ,c, d=[::1]:5433:3001")
    assert peers == [
        Peer("a", Address("10.0.0.1", 5433, 3000)),
        Peer("b", Address("host-b", 6000)),
        Peer("c"),
        Peer("d", Address("::1", 5433, 3001)),
    ]
    assert peers[0].address.pg == "10.0.0.1:5433" and peers[0].address.http == "10.0.0.1:3000"
    assert peers[1].address.http is None
    assert peers[3].address.pg == "[::1]:5433"
    assert parse_peers("") == [] and parse_peers(" , ") == []


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("a=host", "'a=host' is not id=host:pgport[:httpport]"),
        ("a=host:0", "'a=host:0' is not id=host:pgport"),
        ("a=host:5433:3000:1", "is not id=host:pgport"),
        ("a=:5433", "is not id=host:pgport"),
        ("a=[::1]5433", "is not id=host:pgport"),
        ("a,a", "'a' is listed twice"),
        ("-a", "node id '-a'"),
        ("a/b=h:1", "node id 'a/b'"),
    ],
)
def test_bad_peers_are_refused_naming_the_entry(text, named):
    with pytest.raises(InvalidParameterValue) as exc:
        parse_peers(text)
    assert named in exc.value.message
    assert exc.value.sqlstate == "22023"


def test_node_ids_are_safe_key_parts():
    assert check_node_id("node-1.example_x") == "node-1.example_x"
    for bad in ("", "a b", "x" * 64, "../x", "é"):
        with pytest.raises(InvalidParameterValue):
            check_node_id(bad)
