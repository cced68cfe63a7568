"""The embedded connection follows the same transaction rules as the server."""

from __future__ import annotations

import pytest

import elacsym_sql
from elacsym_sql.errors import InFailedTransaction


def test_embedded_blocks_match_the_wire(tmp_path):
    con = elacsym_sql.connect(str(tmp_path / "d"), cache_dir=str(tmp_path / "c"), indexer=False)
    with con:
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)")
        con.execute("BEGIN")
        con.execute("SELECT * FROM t")
        con.execute("ROLLBACK")  # read only: fine
        con.execute("BEGIN")
        con.execute("INSERT INTO t VALUES (1), (2)")
        with pytest.raises(elacsym_sql.NotSupportedError) as info:
            con.execute("ROLLBACK")
        assert info.value.sqlstate == "0A000"
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(2,)]
        con.execute("BEGIN")
        with pytest.raises(elacsym_sql.Error):
            con.execute("SELECT nope FROM t")
        with pytest.raises(InFailedTransaction):
            con.execute("SELECT 1")
        con.execute("COMMIT")  # ends the failed block
        assert con.execute("SELECT 1").fetchall() == [(1,)]


def test_executemany_in_a_block_counts_as_a_write(tmp_path):
    con = elacsym_sql.connect(str(tmp_path / "d"), cache_dir=str(tmp_path / "c"), indexer=False)
    with con:
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)")
        con.execute("BEGIN")
        con.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
        with pytest.raises(elacsym_sql.NotSupportedError):
            con.execute("ROLLBACK")
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(3,)]
