"""The member list as `elacsym_cluster()` and `GET /v1/cluster` show it: each member, its
addresses, whether it is live, and how many of the root's namespaces it owns.

A process that is not a cluster member (no --cluster, no --peers; an embedded connection)
answers as a cluster of one: itself, owning every namespace.
"""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..engine import Engine
from . import rendezvous
from .membership import Member
from .node import ClusterNode


def cluster_rows(
    node: ClusterNode | None, engine: Engine, settings: Settings
) -> list[dict[str, Any]]:
    """One row per member, ordered by id: node_id, role, pg_address, http_address, live,
    heartbeat_age (seconds), namespaces (owned), this_node. Costs one LIST of namespaces."""
    names = engine.listed_namespaces()
    if node is None:
        alone = Member(settings.node_id, settings.node_role, None, True, None, is_self=True)
        return [_row(alone, len(names))]
    counts = rendezvous.owned_counts(names, node.owners())
    return [_row(m, counts.get(m.node_id, 0)) for m in node.members()]


def _row(m: Member, owned: int) -> dict[str, Any]:
    return {
        "node_id": m.node_id,
        "role": m.role,
        "pg_address": m.address.pg if m.address else None,
        "http_address": m.address.http if m.address else None,
        "live": m.live,
        "heartbeat_age": None if m.age is None else round(m.age, 3),
        "namespaces": owned,
        "this_node": m.is_self,
    }


def owner_of(node: ClusterNode | None, settings: Settings, namespace: str) -> str | None:
    """The member owning `namespace` (this node when it is not in a cluster)."""
    return settings.node_id if node is None else node.owner_of(namespace)
