"""COMMENT ON kept and shown as Postgres shows it (pg_description, obj_description,
col_description, SQLAlchemy's reflection), VARCHAR(n) / CHAR(n) lengths kept in the catalog
and enforced (22001), and Postgres's wording for relations that do not exist. Run against
PostgreSQL 15 too with ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import errors

from tests.server import clients

target = clients.target


@pytest.fixture
def conn(target):
    with psycopg.connect(target.dsn, autocommit=True) as c:
        yield c


COMMENTED = [
    "CREATE TABLE cm_items (id SERIAL PRIMARY KEY, name VARCHAR(20) CONSTRAINT cm_name UNIQUE,"
    " qty INTEGER CHECK (qty > 0))",
    "CREATE INDEX cm_qty ON cm_items (qty)",
    "COMMENT ON TABLE cm_items IS 'the test % '' \" \\ table comment'",
    "COMMENT ON COLUMN cm_items.name IS E'Comment\\nwith\\rescapes'",
    "COMMENT ON COLUMN public.cm_items.qty IS $$dollar ' quoted$$",
    "COMMENT ON CONSTRAINT cm_name ON cm_items IS 'unique name'",
    "COMMENT ON CONSTRAINT cm_items_pkey ON cm_items IS 'the key'",
    "COMMENT ON INDEX cm_qty IS 'by quantity'",
]


def test_comments_show_in_the_catalog(conn):
    for sql in COMMENTED:
        assert conn.execute(sql).statusmessage in ("CREATE TABLE", "CREATE INDEX", "COMMENT")
    table = "the test % ' \" \\ table comment"
    got = conn.execute(
        "SELECT obj_description('cm_items'::regclass, 'pg_class'), "
        "col_description('cm_items'::regclass, 1), col_description('cm_items'::regclass, 2), "
        "col_description('cm_items'::regclass, 3)"
    ).fetchone()
    assert got == (table, None, "Comment\nwith\rescapes", "dollar ' quoted")
    relations = conn.execute(
        "SELECT c.relname, d.objsubid, d.description FROM pg_description d "
        "JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass "
        "WHERE c.relname LIKE 'cm%' ORDER BY 1, 2"
    ).fetchall()
    assert relations == [
        ("cm_items", 0, table),
        ("cm_items", 2, "Comment\nwith\rescapes"),
        ("cm_items", 3, "dollar ' quoted"),
        ("cm_qty", 0, "by quantity"),
    ]
    constraints = conn.execute(
        "SELECT con.conname, d.description FROM pg_description d "
        "JOIN pg_constraint con ON con.oid = d.objoid "
        "AND d.classoid = 'pg_constraint'::regclass ORDER BY 1"
    ).fetchall()
    assert constraints == [("cm_items_pkey", "the key"), ("cm_name", "unique name")]
    conn.execute("COMMENT ON TABLE cm_items IS NULL")
    conn.execute("COMMENT ON COLUMN cm_items.qty IS ''")  # '' removes it too
    assert conn.execute(
        "SELECT obj_description('cm_items'::regclass, 'pg_class'), "
        "col_description('cm_items'::regclass, 3)"
    ).fetchone() == (None, None)


def test_comments_on_what_does_not_exist(conn):
    conn.execute("CREATE TABLE cm_missing (id INTEGER PRIMARY KEY)")
    for sql, error, message in [
        ("COMMENT ON COLUMN cm_missing.nope IS 'x'", errors.UndefinedColumn,
         'column "nope" of relation "cm_missing" does not exist'),
        ("COMMENT ON CONSTRAINT nope ON cm_missing IS 'x'", errors.UndefinedObject,
         'constraint "nope" for table "cm_missing" does not exist'),
        ("COMMENT ON TABLE cm_nowhere IS 'x'", errors.UndefinedTable,
         'relation "cm_nowhere" does not exist'),
    ]:  # fmt: skip
        with pytest.raises(error) as raised:
            conn.execute(sql)
        assert str(raised.value).splitlines()[0] == message


def test_sqlalchemy_reflects_comments_and_lengths(target, conn):
    metadata = sa.MetaData()
    sa.Table("cm_reflected", metadata,
             sa.Column("id", sa.Integer, primary_key=True, comment="id comment"),
             sa.Column("data", sa.String(20), comment="data % comment"),
             sa.Column("code", sa.CHAR(52)),
             sa.Column("note", sa.Text),
             sa.UniqueConstraint("data", name="cm_reflected_u", comment="unique comment"),
             comment="table comment")  # fmt: skip
    engine = sa.create_engine(target.url("psycopg"))
    try:
        metadata.create_all(engine)
        insp = sa.inspect(engine)
        assert insp.get_table_comment("cm_reflected") == {"text": "table comment"}
        columns = {c["name"]: c for c in insp.get_columns("cm_reflected")}
        assert [columns[n]["comment"] for n in ("id", "data", "code", "note")] == [
            "id comment", "data % comment", None, None,
        ]  # fmt: skip
        assert isinstance(columns["data"]["type"], sa.VARCHAR)
        assert columns["data"]["type"].length == 20
        assert isinstance(columns["code"]["type"], sa.CHAR)
        assert columns["code"]["type"].length == 52
        assert isinstance(columns["note"]["type"], sa.TEXT)
        [unique] = insp.get_unique_constraints("cm_reflected")
        assert (unique["name"], unique["comment"]) == ("cm_reflected_u", "unique comment")
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def test_character_lengths_in_the_catalog_and_enforced(conn):
    conn.execute("CREATE TABLE cm_chars (id INTEGER PRIMARY KEY, v VARCHAR(5), c CHAR(3), "
                 "vv CHARACTER VARYING, c1 CHAR, t TEXT)")  # fmt: skip
    rows = conn.execute(
        "SELECT column_name, data_type, character_maximum_length, "
        "format_type(a.atttypid, a.atttypmod) FROM information_schema.columns i "
        "JOIN pg_attribute a ON a.attrelid = 'cm_chars'::regclass AND a.attname = i.column_name "
        "WHERE table_name = 'cm_chars' ORDER BY ordinal_position"
    ).fetchall()
    assert rows == [
        ("id", "integer", None, "integer"),
        ("v", "character varying", 5, "character varying(5)"),
        ("c", "character", 3, "character(3)"),
        ("vv", "character varying", None, "character varying"),
        ("c1", "character", 1, "character(1)"),
        ("t", "text", None, "text"),
    ]
    for sql, kind in [
        ("INSERT INTO cm_chars (id, v) VALUES (1, 'toolong')", "character varying(5)"),
        ("INSERT INTO cm_chars (id, c) VALUES (1, 'abcd')", "character(3)"),
        ("INSERT INTO cm_chars (id, c1) VALUES (1, 'ab')", "character(1)"),
    ]:
        with pytest.raises(errors.StringDataRightTruncation) as raised:
            conn.execute(sql)
        assert str(raised.value).splitlines()[0] == f"value too long for type {kind}"
    # spaces past the length are cut, as Postgres does; a CHAR's trailing spaces do not count
    conn.execute("INSERT INTO cm_chars (id, v, c) VALUES (1, 'abc    ', 'ab    ')")
    got = conn.execute("SELECT length(v), length(c), c = 'ab', v FROM cm_chars").fetchall()
    assert got == [(5, 2, True, "abc  ")]
    with pytest.raises(errors.StringDataRightTruncation):
        conn.execute("UPDATE cm_chars SET v = 'abcdef' WHERE id = 1")
    copy = "COPY cm_chars (id, v) FROM STDIN"
    with pytest.raises(errors.StringDataRightTruncation), conn.cursor().copy(copy) as writer:
        writer.write_row((2, "abcdef"))
    assert conn.execute("SELECT count(*) FROM cm_chars").fetchone() == (1,)
    for sql, message in [
        ("CREATE TABLE cm_zero (v VARCHAR(0))", "length for type varchar must be at least 1"),
        ("CREATE TABLE cm_huge (c CHAR(20000000))", "length for type char cannot exceed 10485760"),
    ]:  # fmt: skip
        with pytest.raises(errors.InvalidParameterValue) as raised:
            conn.execute(sql)
        assert str(raised.value).splitlines()[0] == message


def test_missing_relations_are_worded_as_postgres_words_them(conn):
    for sql, error, message in [
        ("DROP TABLE cm_never", errors.UndefinedTable, 'table "cm_never" does not exist'),
        ("DROP VIEW cm_never", errors.UndefinedTable, 'view "cm_never" does not exist'),
        ("DROP SEQUENCE cm_never", errors.UndefinedTable, 'sequence "cm_never" does not exist'),
        ("DROP INDEX cm_never", errors.UndefinedObject, 'index "cm_never" does not exist'),
        ("SELECT * FROM cm_never", errors.UndefinedTable, 'relation "cm_never" does not exist'),
    ]:  # fmt: skip
        with pytest.raises(error) as raised:
            conn.execute(sql)
        assert str(raised.value).splitlines()[0] == message
    assert conn.execute("DROP TABLE IF EXISTS cm_never").statusmessage == "DROP TABLE"
