"""The embedded connection follows the same transaction rules as the server."""

from __future__ import annotations

import pytest

import elacsym_sql
from elacsym_sql.errors import InFailedTransaction


def _connect(tmp_path) -> elacsym_sql.Connection:
    return elacsym_sql.connect(str(tmp_path / "d"), cache_dir=str(tmp_path / "c"), indexer=False)


def test_embedded_blocks_match_the_wire(tmp_path):
    with _connect(tmp_path) as con:
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)")
        con.execute("BEGIN")
        con.execute("INSERT INTO t VALUES (1), (2)")
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(2,)]
        con.execute("ROLLBACK")
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
        con.execute("BEGIN")
        con.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(elacsym_sql.Error):
            con.execute("SELECT nope FROM t")
        with pytest.raises(InFailedTransaction):
            con.execute("SELECT 1")
        con.execute("COMMIT")  # ends the failed block: COMMIT of a failed block rolls back
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
        assert con.execute("SELECT 1").fetchall() == [(1,)]


def test_executemany_in_a_block_is_staged_with_the_rest(tmp_path):
    with _connect(tmp_path) as con, _connect(tmp_path) as other:
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)")
        con.execute("BEGIN")
        con.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
        assert other.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
        con.execute("COMMIT")
        assert other.execute("SELECT count(*) FROM t").fetchall() == [(3,)]
