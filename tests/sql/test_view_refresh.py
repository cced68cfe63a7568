"""The namespace views follow multi-namespace commits record by record.

A transaction's WAL records are read as undecided before its decision lands and are
inserted into the tail once it does. The views used to rebuild the whole tail for that,
so every multi-namespace commit cost O(tail) DuckDB work and a session reading after a
few hundred of them spent seconds refreshing (it looked like a hang in ViewCatalog._append).
"""

from __future__ import annotations

import time

import pyarrow as pa

from elacsym_sql.wal import TxnRef
from tests.helpers import connection, rows


def _tail_oid(con, name: str) -> int:
    """DuckDB's id of the table holding `name`'s tail rows: a rebuild gives a new one."""
    duck = con.database.views._duck
    return duck.execute(
        "SELECT table_oid FROM duckdb_tables() WHERE schema_name = 'elacsym_internal' "
        "AND table_name = ?",
        [f"{name}__tail"],
    ).fetchone()[0]


def test_commits_across_namespaces_add_to_the_views_without_rebuilding_them(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE a (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("CREATE TABLE b (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO a VALUES (0, 'first')")
        con.execute("INSERT INTO b VALUES (0, 'first')")
        before = _tail_oid(con, "a"), _tail_oid(con, "b")
        for i in range(1, 6):
            con.begin()
            con.execute(f"INSERT INTO a SELECT {i} * 100 + x, 'a' FROM range(3) t(x)")
            con.execute(f"INSERT INTO b VALUES ({i}, 'b')")
            con.commit()
            assert rows(con, "SELECT count(*) FROM a") == [(1 + 3 * i,)]
            assert rows(con, "SELECT count(*) FROM b") == [(1 + i,)]
        assert (_tail_oid(con, "a"), _tail_oid(con, "b")) == before


def test_a_late_decision_shows_in_the_views_in_wal_order(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE a (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("CREATE TABLE b (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO a VALUES (1, 'one')")
        engine = con.database.engine
        # A coordinator between its WAL appends and its decision (as in the engine's tests).
        ref = TxnRef("deadbeef", ("a", "b"), time.time())
        rows_a = pa.table({"id": pa.array([20, 21], pa.int64()), "v": ["txn", "txn"]})
        engine.namespace("a").append_records([("upsert", rows_a)], txn=ref)
        rows_b = pa.table({"id": pa.array([20], pa.int64()), "v": ["txn"]})
        engine.namespace("b").append_records([("upsert", rows_b)], txn=ref)
        assert rows(con, "SELECT id FROM a ORDER BY id") == [(1,)]  # undecided: not shown
        # Later in the WAL: blind writes (a SQL write reading `a` would wait for the decision).
        later = pa.table({"id": pa.array([1, 21], pa.int64()), "v": ["newer", "after the txn"]})
        engine.namespace("a").append("upsert", later)
        assert rows(con, "SELECT id, v FROM a ORDER BY id") == [(1, "newer"), (21, "after the txn")]
        oid = _tail_oid(con, "a")
        assert engine.decisions.decide(ref, {"a": 2, "b": 1})
        # The txn's row 20 appears; its row 21 is older than the later INSERT, which wins.
        assert rows(con, "SELECT id, v FROM a ORDER BY id") == [
            (1, "newer"),
            (20, "txn"),
            (21, "after the txn"),
        ]
        assert rows(con, "SELECT id, v FROM b") == [(20, "txn")]
        assert _tail_oid(con, "a") == oid
