"""The session's temporary tables and views in the catalog as Postgres shows them: pg_class
(relpersistence 't', a pg_temp schema, visible), their columns, primary key and indexes,
information_schema.tables, and SQLAlchemy's temporary-table reflection. Run against
PostgreSQL 15 too with ELACSYM_CLIENT_TESTS_PG=1."""

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


def test_temporary_relations_are_in_the_catalog(conn):
    conn.execute("CREATE TEMP TABLE tt_items (id INT PRIMARY KEY, name TEXT, foo INT)")
    conn.execute("CREATE INDEX tt_items_foo ON tt_items (foo)")
    conn.execute("CREATE TEMP VIEW tt_view AS SELECT id FROM tt_items")
    rels = conn.execute(
        "SELECT c.relname, c.relkind, c.relpersistence, n.nspname LIKE 'pg_temp%', "
        "pg_table_is_visible(c.oid) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE c.relname LIKE 'tt%' ORDER BY 1"
    ).fetchall()
    assert rels == [
        ("tt_items", "r", "t", True, True),
        ("tt_items_foo", "i", "t", True, True),
        ("tt_items_pkey", "i", "t", True, True),
        ("tt_view", "v", "t", True, True),
    ]
    columns = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
        "WHERE attrelid = 'tt_items'::regclass AND attnum > 0 ORDER BY attnum"
    ).fetchall()
    assert columns == [("id", "integer", True), ("name", "text", False), ("foo", "integer", False)]
    indexes = conn.execute(
        "SELECT pg_get_indexdef(indexrelid), indisprimary FROM pg_index "
        "WHERE indrelid = 'tt_items'::regclass ORDER BY 1"
    ).fetchall()
    assert indexes == [
        ("CREATE INDEX tt_items_foo ON pg_temp.tt_items USING btree (foo)", False),
        ("CREATE UNIQUE INDEX tt_items_pkey ON pg_temp.tt_items USING btree (id)", True),
    ]
    kinds = conn.execute("SELECT table_name, table_type FROM information_schema.tables "
                         "WHERE table_name LIKE 'tt%' ORDER BY 1").fetchall()  # fmt: skip
    assert kinds == [("tt_items", "LOCAL TEMPORARY"), ("tt_view", "LOCAL TEMPORARY")]


def test_sqlalchemy_reflects_temporary_tables(target):
    engine = sa.create_engine(target.url("psycopg"))
    try:
        with engine.connect() as conn:
            metadata = sa.MetaData()
            sa.Table("tt_reflected", metadata, sa.Column("id", sa.INT, primary_key=True),
                     sa.Column("foo", sa.INT), sa.Index("tt_reflected_ix", "foo"),
                     prefixes=["TEMPORARY"])  # fmt: skip
            metadata.create_all(conn)
            insp = sa.inspect(conn)
            assert insp.get_temp_table_names() == ["tt_reflected"]
            assert "tt_reflected" not in insp.get_table_names()
            assert [c["name"] for c in insp.get_columns("tt_reflected")] == ["id", "foo"]
            assert insp.get_pk_constraint("tt_reflected")["constrained_columns"] == ["id"]
            [index] = insp.get_indexes("tt_reflected")
            assert (index["name"], index["column_names"]) == ("tt_reflected_ix", ["foo"])
            reflected = sa.Table("tt_reflected", sa.MetaData(), autoload_with=conn)
            assert [c.name for c in reflected.primary_key] == ["id"]
    finally:
        engine.dispose()


def test_temporary_relations_made_in_a_rolled_back_block_go(conn):
    conn.execute("CREATE TEMP TABLE tt_kept (x INT)")
    with pytest.raises(psycopg.errors.DivisionByZero), conn.transaction():
        conn.execute("CREATE TEMP TABLE tt_gone (id SERIAL PRIMARY KEY)")
        conn.execute("CREATE TEMP VIEW tt_gone_v AS SELECT id FROM tt_gone")
        conn.execute("SELECT 1 / 0")
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE tt_committed (x INT)")
    names = conn.execute("SELECT relname FROM pg_class WHERE relname LIKE 'tt_%' "
                         "AND relname NOT LIKE 'tt_items%' AND relname <> 'tt_view' "
                         "ORDER BY 1").fetchall()  # fmt: skip
    assert names == [("tt_committed",), ("tt_kept",)]
    conn.execute("CREATE TEMP TABLE tt_gone (id SERIAL PRIMARY KEY)")  # the name is free
