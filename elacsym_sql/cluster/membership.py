"""Who the members are and which are live: the static list (if any) joined with the
heartbeats listed in the bucket.

With `--peers`, membership is closed: only the listed ids are members (a listed peer not
heartbeating is down), and a heartbeat of any other id is ignored; a listed node that runs
`serve --workers N` is its workers, members `<id>-w<i>` at the addresses they advertise.
Without it, every id heartbeating on the root is a member. Either way a member is live
while its freshest heartbeat is younger than the TTL (decision 0056).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .heartbeat import Beat
from .peers import Address, Peer, host_of

UNKNOWN_ROLE = "unknown"  # a listed peer never heard from


@dataclass(frozen=True)
class Member:
    node_id: str
    role: str  # "indexer" (may own namespaces), "query" or UNKNOWN_ROLE
    address: Address | None
    live: bool
    age: float | None  # seconds since its last heartbeat; None: none seen
    is_self: bool = False

    @property
    def may_own(self) -> bool:
        return self.live and self.role == "indexer"


@dataclass(frozen=True)
class Self:
    """This node as it knows itself: its own heartbeat's age is its own observation."""

    node_id: str
    role: str
    address: Address | None
    age: float | None  # seconds since its last successful renewal


def members(
    beats: Sequence[Beat], me: Self, peers: Sequence[Peer] | None, ttl: float
) -> list[Member]:
    """Every member, ordered by id."""
    freshest: dict[str, Beat] = {}
    for beat in beats:
        if beat.node_id not in freshest or beat.age < freshest[beat.node_id].age:
            freshest[beat.node_id] = beat
    listed = {p.node_id: p for p in peers} if peers is not None else None
    heard = set(freshest) | {me.node_id}
    if listed is None:
        ids = heard
    else:  # a listed node running workers is its workers, <id>-w<i> (decision 0078)
        workers = {i for i in heard if host_of(i) in listed}
        ids = (set(listed) - {host_of(i) for i in workers}) | workers
    out = []
    for node_id in sorted(ids):
        if node_id == me.node_id:
            live = me.age is not None and me.age <= ttl
            out.append(Member(node_id, me.role, me.address, live, me.age, is_self=True))
            continue
        beat = freshest.get(node_id)
        peer = listed.get(node_id) if listed is not None else None
        address = peer.address if peer is not None and peer.address else None
        if beat is None:
            out.append(Member(node_id, UNKNOWN_ROLE, address, False, None))
        else:
            live = beat.age <= ttl
            out.append(Member(node_id, beat.role, address or beat.address, live, beat.age))
    return out


def strangers(beats: Sequence[Beat], peers: Sequence[Peer] | None) -> set[str]:
    """Ids heartbeating on the root that a closed member list leaves out."""
    if peers is None:
        return set()
    listed = {p.node_id for p in peers}
    return {
        b.node_id for b in beats if b.node_id not in listed and host_of(b.node_id) not in listed
    }


def owners(found: Sequence[Member]) -> tuple[str, ...]:
    """The ids that own namespaces: live indexers."""
    return tuple(m.node_id for m in found if m.may_own)
