"""Schemas other than public (decision 0033): CREATE SCHEMA is durable, `s.t` is a table of
its own beside `t`, with its keys, indexes, sequences and foreign keys, in the catalog under
its schema; DROP SCHEMA refuses a schema with tables; errors as PostgreSQL 15's."""

from __future__ import annotations

import pytest

import elacsym_sql
from tests.helpers import connection, rows


@pytest.fixture(params=["local"])
def backend(request):
    return request.param


@pytest.fixture
def con(make_settings):
    with connection(make_settings) as c:
        c.execute("CREATE SCHEMA test_schema")
        c.execute("CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT)")
        c.execute(
            "CREATE TABLE test_schema.users (id SERIAL PRIMARY KEY, name TEXT UNIQUE,"
            " uid INTEGER REFERENCES public.users (id))"
        )
        c.execute("INSERT INTO users (name) VALUES ('public one')")
        yield c


def sqlstate(con, sql: str) -> str:
    with pytest.raises(elacsym_sql.Error) as info:
        con.execute(sql)
    return info.value.sqlstate


def test_a_table_of_another_schema_is_its_own(con):
    con.execute("INSERT INTO test_schema.users (name, uid) VALUES ('s1', 1), ('s2', NULL)")
    assert rows(con, "SELECT name FROM users") == [("public one",)]
    assert rows(con, 'SELECT name FROM "test_schema"."users" ORDER BY id') == [("s1",), ("s2",)]
    assert rows(
        con,
        "SELECT u.name, t.name FROM test_schema.users t JOIN users u ON u.id = t.uid",
    ) == [("public one", "s1")]
    assert sqlstate(con, "INSERT INTO test_schema.users (name, uid) VALUES ('s3', 9)") == "23503"
    assert sqlstate(con, "INSERT INTO test_schema.users (name) VALUES ('s1')") == "23505"
    con.execute("BEGIN")
    con.execute("INSERT INTO test_schema.users (name) VALUES ('in a block')")
    assert rows(con, "SELECT count(*) FROM test_schema.users") == [(3,)]
    con.execute("ROLLBACK")
    assert rows(con, "SELECT count(*) FROM test_schema.users") == [(2,)]


def test_catalog_shows_the_schema(con):
    con.execute("CREATE INDEX ON test_schema.users (uid)")
    assert rows(
        con,
        "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = 'test_schema' ORDER BY 2",
    ) == [
        ("test_schema", "users", "r"),
        ("test_schema", "users_id_seq", "S"),  # the SERIAL column's sequence
        ("test_schema", "users_name_key", "i"),
        ("test_schema", "users_pkey", "i"),
        ("test_schema", "users_uid_idx", "i"),
    ]
    assert rows(con, "SELECT indexdef FROM pg_indexes WHERE indexname = 'users_uid_idx'") == [
        ("CREATE INDEX users_uid_idx ON test_schema.users USING btree (uid)",)
    ]
    assert rows(
        con,
        "SELECT column_default FROM information_schema.columns "
        "WHERE table_schema = 'test_schema' AND column_name = 'id'",
    ) == [("nextval('test_schema.users_id_seq'::regclass)",)]
    con.execute("CREATE SEQUENCE test_schema.counter")
    assert rows(con, "SELECT nextval('test_schema.counter'), nextval('test_schema.counter')") == [
        (1, 2)
    ]


def test_schemas_are_durable_and_dropped_when_empty(make_settings, con):
    con.execute("INSERT INTO test_schema.users (name) VALUES ('kept')")
    with connection(make_settings) as other:
        assert rows(other, "SELECT name FROM test_schema.users") == [("kept",)]
        names = rows(other, "SELECT nspname FROM pg_namespace ORDER BY 1")
        assert ("test_schema",) in names
        assert sqlstate(other, "CREATE SCHEMA test_schema") == "42P06"
        other.execute("CREATE SCHEMA IF NOT EXISTS test_schema")
        assert sqlstate(other, "DROP SCHEMA test_schema") == "2BP01"
        other.execute("DROP TABLE test_schema.users")
        other.execute("DROP SCHEMA test_schema")
        assert sqlstate(other, "DROP SCHEMA test_schema") == "3F000"
        other.execute("DROP SCHEMA IF EXISTS test_schema")
        assert sqlstate(other, "CREATE TABLE test_schema.t (id INTEGER)") == "3F000"
    assert rows(con, "SELECT name FROM users") == [("public one",)]


def test_constraint_definitions_as_postgres_writes_them(con):
    # pg_get_constraintdef as PostgreSQL 15 prints it for the same DDL (SQLAlchemy parses
    # foreign keys out of it): names quoted when they need it, other schemas qualified.
    con.execute('CREATE TABLE "par(en)s" ("dot.s" INTEGER PRIMARY KEY, "Q" INTEGER UNIQUE)')
    con.execute(
        'CREATE TABLE test_schema."x y" (id INTEGER PRIMARY KEY, "r f" INTEGER REFERENCES'
        ' "par(en)s" ("dot.s") ON DELETE RESTRICT, u INTEGER REFERENCES public.users (id))'
    )
    con.execute(
        "CREATE TABLE refs (id INTEGER PRIMARY KEY, x INTEGER REFERENCES test_schema.users)"
    )
    assert rows(
        con,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conname LIKE 'par%' OR conname LIKE 'x y%' OR conname LIKE 'refs%' ORDER BY 1",
    ) == [
        ("par(en)s_Q_key", 'UNIQUE ("Q")'),
        ("par(en)s_pkey", 'PRIMARY KEY ("dot.s")'),
        ("refs_pkey", "PRIMARY KEY (id)"),
        ("refs_x_fkey", "FOREIGN KEY (x) REFERENCES test_schema.users(id)"),
        ("x y_pkey", "PRIMARY KEY (id)"),
        ("x y_r f_fkey", 'FOREIGN KEY ("r f") REFERENCES "par(en)s"("dot.s") ON DELETE RESTRICT'),
        ("x y_u_fkey", "FOREIGN KEY (u) REFERENCES users(id)"),
    ]
