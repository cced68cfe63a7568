"""Transaction blocks over the wire (docs/decisions/0021-transactions.md)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.pq import TransactionStatus


def test_commit_of_a_block_that_wrote(dsn):
    with psycopg.connect(dsn) as conn:  # autocommit off: psycopg sends BEGIN
        conn.execute("INSERT INTO docs VALUES (100, 'tx', 1.0, [0.1, 0.2, 0.3])")
        assert conn.info.transaction_status == TransactionStatus.INTRANS
        conn.commit()
        assert conn.execute("SELECT title FROM docs WHERE id = 100").fetchone() == ("tx",)
        conn.rollback()  # a block that only read rolls back fine
        conn.execute("DELETE FROM docs WHERE id = 100")
        conn.commit()


def test_rollback_discards_the_block_and_others_never_see_it(dsn):
    with psycopg.connect(dsn) as conn, psycopg.connect(dsn, autocommit=True) as other:
        conn.execute("INSERT INTO docs VALUES (101, 'gone', 1.0, [0.1, 0.2, 0.3])")
        assert conn.execute("SELECT title FROM docs WHERE id = 101").fetchone() == ("gone",)
        assert other.execute("SELECT title FROM docs WHERE id = 101").fetchone() is None
        conn.rollback()
        assert conn.info.transaction_status == TransactionStatus.IDLE
        assert conn.execute("SELECT title FROM docs WHERE id = 101").fetchone() is None


def test_psycopg_transaction_context_recovers_after_an_error_that_wrote(dsn):
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO docs VALUES (102, 'kept', 1.0, [0.1, 0.2, 0.3])")
        with pytest.raises(psycopg.errors.UndefinedColumn), conn.transaction():
            conn.execute("INSERT INTO docs VALUES (103, 'undone', 1.0, [0.1, 0.2, 0.3])")
            conn.execute("SELECT nope FROM docs")
        found = conn.execute("SELECT id FROM docs WHERE id IN (102, 103)").fetchall()
        assert found == [(102,)]  # the savepoint undid 103 only; the block goes on
        conn.commit()
        conn.execute("DELETE FROM docs WHERE id = 102")
        conn.commit()


def test_concurrent_commits_on_one_key_first_committer_wins(dsn):
    with psycopg.connect(dsn) as a, psycopg.connect(dsn) as b:
        a.execute("INSERT INTO docs VALUES (104, 'start', 1.0, [0.1, 0.2, 0.3])")
        a.commit()
        a.execute("UPDATE docs SET price = price + 1 WHERE id = 104")
        b.execute("UPDATE docs SET price = price + 10 WHERE id = 104")
        a.commit()
        with pytest.raises(psycopg.errors.SerializationFailure):
            b.commit()
        assert b.info.transaction_status == TransactionStatus.IDLE
        assert b.execute("SELECT price FROM docs WHERE id = 104").fetchone() == (2.0,)
        b.execute("DELETE FROM docs WHERE id = 104")
        b.commit()


def test_error_in_a_block_aborts_it_until_rollback(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("BEGIN")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("SELECT nope FROM docs")
        assert conn.info.transaction_status == TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.execute("ROLLBACK")
        assert conn.info.transaction_status == TransactionStatus.IDLE
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_savepoint_recovers_a_block_that_did_not_write(dsn):
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT 1")
        with pytest.raises(psycopg.errors.UndefinedTable), conn.transaction():
            conn.execute("SELECT * FROM missing")
        assert conn.execute("SELECT 2").fetchone() == (2,)
        conn.commit()
