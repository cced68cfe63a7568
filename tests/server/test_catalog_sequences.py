"""Durable sequences in the catalog as Postgres lists them: pg_class (relkind 'S'),
pg_sequence, information_schema.sequences, SQLAlchemy's has_sequence /
get_sequence_names; a SERIAL table's sequence goes with DROP TABLE; nextval of a regclass
literal. Run against PostgreSQL 15 too with ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from tests.server import clients

target = clients.target


@pytest.fixture
def conn(target):
    with psycopg.connect(target.dsn, autocommit=True) as c:
        yield c


def sequences(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT c.relname, c.relkind, s.seqstart, s.seqincrement, s.seqmax "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_sequence s ON s.seqrelid = c.oid "
        "WHERE c.relkind = 'S' AND n.nspname = 'public' AND c.relname LIKE 'cs%' ORDER BY 1"
    ).fetchall()


def test_sequences_are_listed_and_go_with_their_table(conn):
    conn.execute("CREATE TABLE cs_items (id SERIAL PRIMARY KEY, v INTEGER)")
    conn.execute("CREATE SEQUENCE cs_counter START 5 INCREMENT 2")
    assert sequences(conn) == [
        ("cs_counter", "S", 5, 2, 2**63 - 1),
        ("cs_items_id_seq", "S", 1, 1, 2**31 - 1),
    ]
    listed = conn.execute(
        "SELECT sequence_name, data_type, start_value, increment "
        "FROM information_schema.sequences WHERE sequence_name LIKE 'cs%' ORDER BY 1"
    ).fetchall()
    assert listed == [("cs_counter", "bigint", "5", "2"), ("cs_items_id_seq", "integer", "1", "1")]
    assert conn.execute(
        "SELECT nextval('cs_counter'::regclass), nextval('cs_counter')"
    ).fetchone() == (5, 7)
    conn.execute("DROP TABLE cs_items")
    conn.execute("DROP SEQUENCE cs_counter")
    assert sequences(conn) == []
    # the table again: its sequence starts afresh, as a new one does in Postgres
    conn.execute("CREATE TABLE cs_items (id SERIAL PRIMARY KEY, v INTEGER)")
    got = conn.execute("INSERT INTO cs_items (v) VALUES (1) RETURNING id").fetchone()
    assert got == (1,)
    conn.execute("DROP TABLE cs_items")


def test_sqlalchemy_sees_sequences(target, conn):
    engine = sa.create_engine(target.url("psycopg"))
    try:
        conn.execute("CREATE SEQUENCE cs_reflected")
        with engine.connect() as c:
            assert engine.dialect.has_sequence(c, "cs_reflected")
            assert not engine.dialect.has_sequence(c, "cs_never")
        assert "cs_reflected" in sa.inspect(engine).get_sequence_names()
    finally:
        conn.execute("DROP SEQUENCE cs_reflected")
        engine.dispose()
