"""Quoted names with capitals and punctuation, for namespaces and columns: kept as
written everywhere (storage, catalog, search functions, sequences, constraints)."""

from __future__ import annotations

import pytest

import elacsym_sql
from tests.helpers import connection, fold, rows

TABLE = (
    'CREATE TABLE "My Table" ("Weird Col!" SERIAL PRIMARY KEY, "Body" TEXT NOT NULL,'
    ' "it\'s" INT CHECK ("it\'s" > 0), v FLOAT[2]) WITH (full_text = \'"Body"\')'
)


@pytest.fixture
def con(make_settings):
    with connection(make_settings) as c:
        c.execute(TABLE)
        c.execute(
            'INSERT INTO "My Table" ("Body", "it\'s", v) VALUES (\'hello world\', 1, [1, 0]),'
            " ('other', 2, [0, 1])"
        )
        yield c


def test_quoted_names_round_trip(con):
    assert rows(con, 'SELECT * FROM "My Table" ORDER BY 1') == [
        (1, "hello world", 1, (1.0, 0.0)), (2, "other", 2, (0.0, 1.0))
    ]  # fmt: skip
    fold(con, "My Table")
    con.execute('UPDATE "My Table" SET "Body" = \'changed\' WHERE "Weird Col!" = 1')
    assert rows(con, "SELECT \"Weird Col!\" FROM text_search('My Table', 'changed', 5)") == [(1,)]
    found = rows(con, "SELECT \"Weird Col!\" FROM vector_search('My Table', [0, 1], 1)")
    assert found == [(2,)]
    filtered = (
        "SELECT \"Weird Col!\" FROM vector_search('My Table', [0, 1], 2, filter := '\"it''s\" = 1')"
    )
    assert rows(con, filtered) == [(1,)]
    with pytest.raises(elacsym_sql.Error) as info:
        con.execute('INSERT INTO "My Table" ("Body", "it\'s") VALUES (\'x\', 0)')
    assert info.value.sqlstate == "23514"
    assert info.value.message == (
        'new row for relation "My Table" violates check constraint "My Table_it\'s_check"'
    )
    assert rows(con, 'DELETE FROM "My Table" WHERE "Weird Col!" = 2 RETURNING "Body"') == [
        ("other",)
    ]  # fmt: skip


def test_catalog_and_storage_show_names_as_written(con):
    assert "My Table" in con.database.engine.list_namespaces()
    got = rows(
        con,
        "SELECT column_name, column_default FROM information_schema.columns "
        "WHERE table_name = 'My Table' ORDER BY ordinal_position",
    )
    assert got == [
        ("Weird Col!", "nextval('\"My Table_Weird Col!_seq\"'::regclass)"),
        ("Body", None), ("it's", None), ("v", None),
    ]  # fmt: skip
    assert rows(con, "SELECT nextval('\"My Table_Weird Col!_seq\"')")[0][0] > 2
    keys = rows(con, "SELECT relname FROM pg_class WHERE relname LIKE 'My%' ORDER BY 1")
    # The SERIAL column's sequence is a relation too, as in Postgres.
    assert keys == [("My Table",), ("My Table_Weird Col!_seq",), ("My Table_pkey",)]


def test_names_differing_only_in_case_are_refused(con):
    # DuckDB, where namespaces are views, matches names without regard to case.
    con.execute('CREATE TABLE "Docs" (id INT PRIMARY KEY, "X" TEXT)')
    with pytest.raises(elacsym_sql.Error) as info:
        con.execute("CREATE TABLE docs (id INT PRIMARY KEY)")
    assert info.value.sqlstate == "42P07"
    with pytest.raises(elacsym_sql.Error) as info:
        con.execute('CREATE TABLE t2 (id INT PRIMARY KEY, "A" INT, a INT)')
    assert info.value.sqlstate == "42701"
    con.execute("INSERT INTO \"Docs\" VALUES (2, 'two')")
    assert rows(con, 'SELECT * FROM "Docs"') == [(2, "two")]


def test_references_truncate_and_drop_between_quoted_names(con):
    con.execute('CREATE TABLE "Child" (id INT PRIMARY KEY, "Parent" INT REFERENCES "My Table")')
    con.execute('INSERT INTO "Child" VALUES (1, 1)')
    with pytest.raises(elacsym_sql.Error) as info:
        con.execute('INSERT INTO "Child" VALUES (2, 7)')
    assert info.value.sqlstate == "23503"
    con.execute('TRUNCATE "Child", "My Table"')
    con.execute('DROP TABLE "Child"')
    con.execute('DROP TABLE "My Table"')
    assert con.database.engine.list_namespaces() == []


@pytest.mark.parametrize("name", ["a/b", ".dot", "x" * 64, "tab\there"])
def test_names_storage_cannot_hold_are_refused(con, name):
    quoted = '"' + name + '"'
    with pytest.raises(elacsym_sql.Error) as info:
        con.execute(f"CREATE TABLE {quoted} (id INT PRIMARY KEY)")
    assert info.value.sqlstate == "42602"
