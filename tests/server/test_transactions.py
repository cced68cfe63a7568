"""Transaction blocks over the wire (docs/decisions/0011-transactions.md)."""

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


def test_rollback_of_a_block_that_wrote_fails_loudly_and_ends_it(dsn):
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO docs VALUES (101, 'kept', 1.0, [0.1, 0.2, 0.3])")
        with pytest.raises(psycopg.errors.FeatureNotSupported) as info:
            conn.rollback()
        assert "1 write was already durable" in str(info.value)
        assert conn.info.transaction_status == TransactionStatus.IDLE
        assert conn.execute("SELECT title FROM docs WHERE id = 101").fetchone() == ("kept",)
        conn.execute("DELETE FROM docs WHERE id = 101")
        conn.commit()


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
