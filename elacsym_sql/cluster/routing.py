"""Where a write to a namespace goes: here, or to its owner (decision 0058).

A write is forwarded only when another live member owns the namespace; with no cluster, no
owner (no live indexer), or this node as owner it is written here, which is always safe
(conditional writes), only not where the indexing happens. A write that arrives already
forwarded is written where it arrives, whatever this node thinks, so two members whose
views differ for a moment never pass a write back and forth.
"""

from __future__ import annotations

import time
from typing import Protocol

from ..errors import OwnerUnavailable
from .membership import Member


class View(Protocol):
    """Who owns what, as a member (node.py) or an embedded connection (observer.py) sees it."""

    node_id: str
    ttl: float
    period: float

    def owner_of(self, namespace: str) -> str | None: ...

    def member(self, node_id: str) -> Member | None: ...


def owner_elsewhere(node: View | None, namespace: str) -> Member | None:
    """The member to forward a write of `namespace` to, or None to write it here."""
    if node is None:
        return None
    owner_id = node.owner_of(namespace)
    if owner_id is None or owner_id == node.node_id:
        return None
    return node.member(owner_id)


def next_owner(node: View, namespace: str, unreachable: Member) -> Member | None:
    """After `unreachable` refused a forwarded write (nothing sent): wait for the members to
    agree on another owner, or for the same member to heartbeat from a new address (a
    restarted worker of `serve --workers N`), up to the heartbeat TTL plus a round; returns
    it (None: this node) or raises OwnerUnavailable (57P03) when neither happened."""
    deadline = time.monotonic() + node.ttl + 2 * node.period
    while time.monotonic() < deadline:
        if node.owner_of(namespace) != unreachable.node_id:
            return owner_elsewhere(node, namespace)
        now = node.member(unreachable.node_id)
        if now is not None and now.address != unreachable.address:
            return now
        time.sleep(node.period / 2)
    raise OwnerUnavailable(
        f'the owner of namespace "{namespace}", member {unreachable.node_id}, is unreachable '
        "and no other member took the namespace over; nothing was written",
        hint="retry the write",
    )
