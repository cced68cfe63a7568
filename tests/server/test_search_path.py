"""search_path is followed (decision 0072): with `SET search_path TO s` (or the start-up
option `-c search_path=s`) unqualified names create, read and write tables of schema s, as
in Postgres; public's tables are found when the path names public. Run against
PostgreSQL 15 too with ELACSYM_CLIENT_TESTS_PG=1 (the expectations are its own)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from tests.server import clients

target = clients.target


@pytest.fixture
def conn(target):
    with psycopg.connect(target.dsn, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS sp_a.items")
        c.execute("DROP TABLE IF EXISTS items")
        c.execute("CREATE SCHEMA IF NOT EXISTS sp_a")
        c.execute("CREATE TABLE items (id INT PRIMARY KEY, v TEXT)")
        c.execute("INSERT INTO items VALUES (1, 'public')")
        yield c


def test_set_search_path_creates_reads_and_writes_in_the_schema(conn):
    conn.execute("SET search_path TO sp_a")
    assert conn.execute("SELECT current_schema()").fetchone() == ("sp_a",)
    conn.execute("CREATE TABLE items (id SERIAL PRIMARY KEY, v TEXT)")
    conn.execute("INSERT INTO items (v) VALUES ('a'), ('b')")
    conn.execute("UPDATE items SET v = 'b!' WHERE items.id = 2")
    conn.execute("DELETE FROM items WHERE v = 'a'")
    assert conn.execute("SELECT items.id, v FROM items").fetchall() == [(2, "b!")]
    # the same tables, qualified
    assert conn.execute("SELECT v FROM sp_a.items").fetchall() == [("b!",)]
    assert conn.execute("SELECT v FROM public.items").fetchall() == [("public",)]
    conn.execute("SET search_path TO public")
    assert conn.execute("SELECT v FROM items").fetchall() == [("public",)]
    assert conn.execute("SELECT current_schema()").fetchone() == ("public",)


def test_a_path_of_several_schemas_finds_the_first_that_has_the_table(conn):
    conn.execute("CREATE TABLE IF NOT EXISTS only_public (id INT PRIMARY KEY)")
    conn.execute("SET search_path = sp_a, public")
    assert conn.execute("SHOW search_path").fetchone() == ("sp_a, public",)
    assert conn.execute("SELECT count(*) FROM only_public").fetchone() == (0,)
    conn.execute("CREATE TABLE items (id INT PRIMARY KEY, v TEXT)")  # in sp_a, the first
    conn.execute("INSERT INTO items VALUES (5, 'sp_a')")
    assert conn.execute("SELECT v FROM items").fetchall() == [("sp_a",)]
    assert conn.execute("SELECT v FROM public.items").fetchall() == [("public",)]
    rows = conn.execute(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = 'items' ORDER BY 1"
    ).fetchall()
    assert rows == [("public",), ("sp_a",)]


def test_the_startup_option_sets_the_path(target, conn):
    with psycopg.connect(target.dsn, options="-c search_path=sp_a", autocommit=True) as c:
        assert c.execute("SHOW search_path").fetchone() == ("sp_a",)
        c.execute("CREATE TABLE items (id INT PRIMARY KEY, v TEXT)")
        c.execute("INSERT INTO items VALUES (7, 'started')")
        assert c.execute("SELECT v FROM items").fetchall() == [("started",)]
    assert conn.execute("SELECT v FROM sp_a.items").fetchall() == [("started",)]


def test_a_name_the_path_does_not_find_is_42p01(conn):
    conn.execute("SET search_path TO sp_a")
    with pytest.raises(errors.UndefinedTable):
        conn.execute("SELECT * FROM nowhere_at_all")


def test_copy_follows_the_path_and_the_written_schema(conn):
    conn.execute("SET search_path TO sp_a")
    conn.execute("CREATE TABLE items (id INT PRIMARY KEY, v TEXT)")
    with conn.cursor().copy("COPY items (id, v) FROM STDIN") as copy:
        copy.write("1\tpath\n")
    with conn.cursor().copy("COPY sp_a.items (id, v) FROM STDIN") as copy:
        copy.write("2\twritten\n")
    with conn.cursor().copy("COPY public.items (id, v) FROM STDIN") as copy:
        copy.write("3\tpublic\n")
    assert conn.execute("SELECT id, v FROM sp_a.items ORDER BY id").fetchall() == [
        (1, "path"),
        (2, "written"),
    ]
    assert conn.execute("SELECT id FROM public.items ORDER BY id").fetchall() == [(1,), (3,)]
    out = bytearray()
    with conn.cursor().copy("COPY public.items TO STDOUT") as copy:
        for data in copy:
            out += data
    assert bytes(out) == b"1\tpublic\n3\tpublic\n"
    copying = conn.cursor().copy("COPY nosuch.items (id) FROM STDIN")
    with pytest.raises(errors.InvalidSchemaName), copying as copy:
        copy.write("4\n")
