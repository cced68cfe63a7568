"""A transaction block whose namespaces have different owners, sent to a third member, is
staged there and committed with the multi-namespace commit protocol (decision 0085): with
direct writes to the same rows at their owners meanwhile, a transfer is never seen half
done by any member, no acknowledged write is lost, and a block that read before a
conflicting write committed fails with 40001 and writes nothing."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from elacsym_sql.cluster import owner
from tests.cluster.nodes import BACKENDS, FAST, Node, start_node, wait_for

START = 1_000_000  # x's balance at the start; y's is 0
DEPOSIT = 1000  # direct writes add this: a transfer (1) half seen shows as a remainder
TRANSFERS = 12
DEPOSITS = 8


def _named(owned_by: str, prefix: str) -> str:
    return next(
        f"{prefix}{i}" for i in range(500) if owner(f"{prefix}{i}", ["a", "b", "c"]) == owned_by
    )


def _retrying(work: Any) -> int:
    """Run `work` until it does not fail with 40001; returns the failures seen."""
    failures = 0
    while True:
        try:
            work()
            return failures
        except psycopg.errors.SerializationFailure:
            failures += 1


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_transfer_across_owners_through_a_third_node(make_settings, tmp_path):
    settings = make_settings()
    x, y = _named("a", "x"), _named("b", "y")
    a, b, c = (start_node(settings, n, tmp_path, **FAST) for n in "abc")
    try:
        wait_for(lambda: c.members().keys() == {"a", "b", "c"}, what="c sees a and b")
        assert c.owners([x, y]) == {x: "a", y: "b"}
        for name, balance in ((x, START), (y, 0)):
            c.sql(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, bal BIGINT)")
            c.sql(f"INSERT INTO {name} VALUES (1, {balance})")
        _serialization_failure(a, c, x, y)
        _concurrent_transfers(a, b, c, x, y)
    finally:
        for node in (a, b, c):
            node.stop()


def _serialization_failure(a: Node, c: Node, x: str, y: str) -> None:
    """A block at c read x; x's owner commits a write to the row; the block's write of that
    row fails with 40001 (as Postgres's REPEATABLE READ) and nothing of it is written."""
    with c.connect() as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        (before,) = conn.execute(f"SELECT bal FROM {x} WHERE id = 1").fetchone()
        conn.execute(f"UPDATE {y} SET bal = bal + 7 WHERE id = 1")
        a.sql(f"UPDATE {x} SET bal = bal + 5 WHERE id = 1")  # direct, at the owner
        with pytest.raises(psycopg.errors.SerializationFailure):
            conn.execute(f"UPDATE {x} SET bal = bal - 7 WHERE id = 1")
            conn.execute("COMMIT")
        conn.execute("ROLLBACK")
    assert before == START
    for node in (a, c):
        assert node.sql(f"SELECT bal FROM {x}") == [(START + 5,)]
        assert node.sql(f"SELECT bal FROM {y}") == [(0,)]
    a.sql(f"UPDATE {x} SET bal = bal - 5 WHERE id = 1")


def _concurrent_transfers(a: Node, b: Node, c: Node, x: str, y: str) -> None:
    done = threading.Event()
    seen: list[int] = []
    counts = {"transfers": 0, "x": 0, "y": 0, "retries": 0}
    errors: list[BaseException] = []

    def transfers() -> None:  # through c, which owns neither namespace
        with c.connect() as conn:
            for _ in range(TRANSFERS):

                def one() -> None:
                    with conn.transaction():
                        conn.execute(f"UPDATE {x} SET bal = bal - 1 WHERE id = 1")
                        conn.execute(f"UPDATE {y} SET bal = bal + 1 WHERE id = 1")

                counts["retries"] += _retrying(one)
                counts["transfers"] += 1

    def deposits(node: Node, name: str) -> None:  # x at its owner; y through c (forwarded)
        sql = f"UPDATE {name} SET bal = bal + {DEPOSIT} WHERE id = 1"
        with node.connect() as conn:
            for _ in range(DEPOSITS):
                counts["retries"] += _retrying(lambda: conn.execute(sql))
                counts[name[0]] += 1

    def reads(node: Node) -> None:  # one statement over both namespaces
        sql = f"SELECT (SELECT bal FROM {x} WHERE id = 1) + (SELECT bal FROM {y} WHERE id = 1)"
        with node.connect() as conn:
            while not done.is_set():
                seen.append(conn.execute(sql).fetchone()[0])

    def guarded(fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)

    writers = [
        threading.Thread(target=guarded, args=(transfers,)),
        threading.Thread(target=guarded, args=(deposits, a, x)),
        threading.Thread(target=guarded, args=(deposits, c, y)),
    ]
    readers = [threading.Thread(target=guarded, args=(reads, n)) for n in (a, b, c)]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join(300)
    done.set()
    for thread in readers:
        thread.join(60)
    assert not errors, errors
    assert counts["transfers"] == TRANSFERS and counts["x"] == counts["y"] == DEPOSITS
    # Never half visible: every sum is the start plus whole deposits.
    assert seen and all((s - START) % DEPOSIT == 0 for s in seen), sorted(set(seen))
    # No lost update: every acknowledged transfer and deposit is in the balances.
    want_x = START - TRANSFERS + DEPOSIT * DEPOSITS
    want_y = TRANSFERS + DEPOSIT * DEPOSITS
    for node in (a, b, c):
        assert node.sql(f"SELECT bal FROM {x}") == [(want_x,)], node.node_id
        assert node.sql(f"SELECT bal FROM {y}") == [(want_y,)], node.node_id
    print(f"retries on 40001: {counts['retries']}, reads: {len(seen)}")
