"""Where a write to a namespace goes: here, or to its owner (decision 0058).

A write is forwarded only when another live member owns the namespace; with no cluster, no
owner (no live indexer), or this node as owner it is written here, which is always safe
(conditional writes), only not where the indexing happens. A write that arrives already
forwarded is written where it arrives, whatever this node thinks, so two members whose
views differ for a moment never pass a write back and forth.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from ..errors import ElacsymError, OwnerUnavailable
from .membership import Member

# How a caller turns the owner's refusal into its own error: sqlstate, message, detail, hint.
Raise = Callable[[str, str, str | None, str | None], ElacsymError]


class NotSent(Exception):
    """A forwarded request never reached the owner (no connection): it is safe to send it to
    the owner's successor."""


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


def owner_wait_deadline(node: View) -> float:
    """How long a write may wait for an unreachable owner, from its first failure: the
    heartbeat TTL (a dead owner is then down and its namespaces moved) plus a round."""
    return time.monotonic() + node.ttl + 2 * node.period


def next_owner(node: View, namespace: str, unreachable: Member, deadline: float) -> Member | None:
    """After `unreachable` turned a forwarded write away (nothing sent): the member to try
    next (None: this node) — a new owner once the members agree on one, the same member
    at a new address (a restarted worker of `serve --workers N`), or the same member again
    after a pause while it still heartbeats (busy or full: a live owner is worth another
    try). Raises OwnerUnavailable (57P03) at `deadline` (owner_wait_deadline)."""
    paused = False
    while True:
        if node.owner_of(namespace) != unreachable.node_id:
            return owner_elsewhere(node, namespace)
        now = node.member(unreachable.node_id)
        if now is not None and (now.address != unreachable.address or (paused and now.live)):
            return now
        if time.monotonic() >= deadline:
            raise OwnerUnavailable(
                f'the owner of namespace "{namespace}", member {unreachable.node_id}, is '
                "unreachable and no other member took the namespace over; nothing was written",
                hint="retry the write",
            )
        time.sleep(node.period / 2)
        paused = True
