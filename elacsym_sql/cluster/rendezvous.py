"""Rendezvous (highest random weight) hashing: each namespace is owned by the member with
the highest hash of (member, namespace). Removing a member moves only its namespaces;
adding one of N members takes about 1/N from the others; every node that sees the same
members computes the same owner, with no coordination."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence


def weight(member: str, namespace: str) -> int:
    """A stable 64-bit weight (blake2b, not Python's salted hash(): every process agrees)."""
    digest = hashlib.blake2b(f"{member}\0{namespace}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(namespace: str, members: Sequence[str]) -> str | None:
    """The member owning `namespace`, or None when there is none; ties (not expected from a
    64-bit hash) go to the smaller id so that all nodes agree."""
    if not members:
        return None
    return max(sorted(members), key=lambda m: weight(m, namespace))


def owned_counts(namespaces: Iterable[str], members: Sequence[str]) -> Counter[str]:
    """How many of `namespaces` each member owns (members owning none are absent)."""
    return Counter(o for ns in namespaces if (o := owner(ns, members)) is not None)
