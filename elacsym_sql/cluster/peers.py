"""The static member list: `--peers id=host:pgport[:httpport],...` (or bare ids, as the
original's `distributed.indexer_cluster.nodes` lists them), and node ids."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidParameterValue

# A node id is part of an object key and of log lines: a hostname's alphabet.
_NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_WORKER_ID = re.compile(r"(.+)-w[0-9]+")


@dataclass(frozen=True)
class Address:
    host: str
    pg_port: int
    http_port: int | None = None

    @property
    def pg(self) -> str:
        return f"{self._host}:{self.pg_port}"

    @property
    def pg_pair(self) -> tuple[str, int]:
        return self.host, self.pg_port

    @property
    def http(self) -> str | None:
        return None if self.http_port is None else f"{self._host}:{self.http_port}"

    @property
    def _host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host


@dataclass(frozen=True)
class Peer:
    node_id: str
    address: Address | None = None  # None: learnt from the member's heartbeat


def check_node_id(node_id: str) -> str:
    if not _NODE_ID.fullmatch(node_id):
        raise InvalidParameterValue(
            f"node id {node_id!r}: 1-63 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return node_id


def worker_id(node_id: str, index: int) -> str:
    """The member id of worker `index` of `elacsym serve --workers N` on node `node_id`
    (22023 when too long)."""
    return check_node_id(f"{node_id}-w{index}")


def host_of(member_id: str) -> str | None:
    """The node id a worker's member id was made from (worker_id), or None for another id."""
    found = _WORKER_ID.fullmatch(member_id)
    return found.group(1) if found else None


def parse_peers(text: str) -> list[Peer]:
    """The peers of `--peers`; 22023 naming the bad entry."""
    peers: list[Peer] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        node_id, has_address, rest = item.partition("=")
        peer = Peer(check_node_id(node_id.strip()), _address(rest, item) if has_address else None)
        if any(p.node_id == peer.node_id for p in peers):
            raise InvalidParameterValue(f"peers: {peer.node_id!r} is listed twice")
        peers.append(peer)
    return peers


def _address(text: str, item: str) -> Address:
    """host:pgport[:httpport], the host in brackets when it is an IPv6 address."""
    if text.startswith("["):
        host, _, ports = text[1:].partition("]")
        ports = ports[1:] if ports.startswith(":") else "!"
    else:
        host, _, ports = text.partition(":")
    numbers = ports.split(":")
    if not host or not 1 <= len(numbers) <= 2 or not all(_port(n) for n in numbers):
        raise InvalidParameterValue(
            f"peers: {item!r} is not id=host:pgport[:httpport]",
        )
    return Address(host, int(numbers[0]), int(numbers[1]) if len(numbers) == 2 else None)


def _port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) <= 65535
