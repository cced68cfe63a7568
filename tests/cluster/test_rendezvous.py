"""Rendezvous hashing: owners agree everywhere, and a member joining or leaving moves about
1/N of the namespaces, all of them to or from that member."""

from __future__ import annotations

from collections import Counter

from elacsym_sql.cluster.rendezvous import owned_counts, owner, weight

NAMESPACES = [f"ns_{i}" for i in range(3000)]


def _owners(members: list[str]) -> dict[str, str | None]:
    return {ns: owner(ns, members) for ns in NAMESPACES}


def test_owner_is_stable_and_independent_of_member_order():
    members = ["node-a", "node-b", "node-c"]
    assert _owners(members) == _owners(list(reversed(members)))
    # blake2b, not Python's per-process salted hash(): a fixed value in every process
    assert weight("node-a", "docs") == weight("node-a", "docs")
    assert owner("docs", []) is None
    assert owner("docs", ["only"]) == "only"


def test_load_is_balanced():
    counts = owned_counts(NAMESPACES, ["n1", "n2", "n3", "n4"])
    assert sum(counts.values()) == len(NAMESPACES)
    for n in ("n1", "n2", "n3", "n4"):
        assert 0.2 < counts[n] / len(NAMESPACES) < 0.3, counts


def test_a_fourth_member_takes_about_a_quarter_and_only_from_others():
    before = _owners(["n1", "n2", "n3"])
    after = _owners(["n1", "n2", "n3", "n4"])
    moved = [ns for ns in NAMESPACES if before[ns] != after[ns]]
    assert all(after[ns] == "n4" for ns in moved)  # nothing moves between old members
    assert 0.2 < len(moved) / len(NAMESPACES) < 0.3, len(moved)
    # n4 took from each old member about equally
    taken = Counter(before[ns] for ns in moved)
    assert all(0.25 < taken[n] / len(moved) < 0.42 for n in ("n1", "n2", "n3")), taken


def test_a_member_leaving_moves_only_its_namespaces():
    before = _owners(["n1", "n2", "n3", "n4", "n5"])
    after = _owners(["n1", "n2", "n4", "n5"])
    moved = {ns for ns in NAMESPACES if before[ns] != after[ns]}
    assert moved == {ns for ns in NAMESPACES if before[ns] == "n3"}
    assert 0.15 < len(moved) / len(NAMESPACES) < 0.25
