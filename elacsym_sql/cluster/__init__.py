"""Several nodes on one storage root (DESIGN.md §6): membership by heartbeat objects and a
static list, namespace ownership by rendezvous hashing, owner-only background work."""

from .membership import Member
from .node import ClusterNode
from .peers import Address, Peer, check_node_id, host_of, parse_peers, worker_id
from .rendezvous import owner
from .status import cluster_rows, owner_of

__all__ = [
    "Address",
    "ClusterNode",
    "Member",
    "Peer",
    "check_node_id",
    "cluster_rows",
    "host_of",
    "owner",
    "owner_of",
    "parse_peers",
    "worker_id",
]
