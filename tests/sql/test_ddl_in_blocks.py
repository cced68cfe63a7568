"""CREATE TABLE and DROP TABLE inside a transaction block, as Postgres undoes them
(decision 0071): ROLLBACK (or ROLLBACK TO a savepoint set before) drops the tables the
block created and keeps the tables it dropped; COMMIT keeps the first and drops the second;
a DROP shows the table as gone to its own block only."""

from __future__ import annotations

import pytest

from elacsym_sql.errors import SerializationFailure, UndefinedTable
from tests.helpers import connection, rows

_LIST = "SELECT relname FROM pg_class WHERE relkind = 'r' ORDER BY relname"


def _tables(con) -> list[str]:
    return [name for (name,) in rows(con, _LIST)]


def test_create_table_rolled_back_is_gone(make_settings):
    with connection(make_settings) as con:
        con.begin()
        con.execute("CREATE TABLE made (id SERIAL PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO made (v) VALUES ('a'), ('b')")
        assert rows(con, "SELECT count(*) FROM made") == [(2,)]
        con.rollback()
        with pytest.raises(UndefinedTable):
            con.execute("SELECT * FROM made")
        assert "made" not in _tables(con)
        assert rows(con, "SELECT count(*) FROM pg_class WHERE relname = 'made_id_seq'") == [(0,)]
        # and the name is free again, its SERIAL starting over
        con.execute("CREATE TABLE made (id SERIAL PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO made (v) VALUES ('c')")
        assert rows(con, "SELECT id, v FROM made") == [(1, "c")]


def test_create_table_committed_stays_with_its_rows(make_settings):
    with connection(make_settings) as con, connection(make_settings) as other:
        con.begin()
        con.execute("CREATE TABLE kept (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO kept VALUES (1, 'a')")
        con.commit()
        assert rows(other, "SELECT * FROM kept") == [(1, "a")]


def test_drop_table_rolled_back_keeps_table_and_rows(make_settings):
    with connection(make_settings) as con, connection(make_settings) as other:
        con.execute("CREATE TABLE precious (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO precious VALUES (1, 'a'), (2, 'b')")
        con.begin()
        con.execute("DROP TABLE precious")
        # gone for the block, 42P01 as in Postgres; still there for everyone else
        with pytest.raises(UndefinedTable):
            con.execute("SELECT count(*) FROM precious")
        con.rollback()
        con.begin()
        con.execute("DROP TABLE precious")
        assert "precious" not in _tables(con)
        with pytest.raises(UndefinedTable):
            con.execute("INSERT INTO precious VALUES (3, 'c')")
        con.rollback()
        assert rows(other, "SELECT * FROM precious ORDER BY id") == [(1, "a"), (2, "b")]
        assert rows(con, "SELECT * FROM precious ORDER BY id") == [(1, "a"), (2, "b")]
        assert "precious" in _tables(con)


def test_drop_table_takes_effect_at_commit(make_settings):
    with connection(make_settings) as con, connection(make_settings) as other:
        con.execute("CREATE TABLE doomed (id BIGINT PRIMARY KEY)")
        con.execute("INSERT INTO doomed VALUES (1)")
        con.begin()
        con.execute("DROP TABLE doomed")
        assert rows(other, "SELECT * FROM doomed") == [(1,)]  # not committed yet
        assert "doomed" in _tables(other)
        con.commit()
        with pytest.raises(UndefinedTable):
            other.execute("SELECT * FROM doomed")
        with pytest.raises(UndefinedTable):
            con.execute("SELECT * FROM doomed")


def test_drop_then_create_of_one_name_commits_the_new_table(make_settings):
    """pandas to_sql(if_exists="replace") and drop_all() + create_all() in one block."""
    with connection(make_settings) as con:
        con.execute("CREATE TABLE frame (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO frame VALUES (1, 'old')")
        con.begin()
        con.execute("DROP TABLE frame")
        assert "frame" not in _tables(con)  # has_table() answers no: create_all creates it
        con.execute("CREATE TABLE frame (id BIGINT PRIMARY KEY, v TEXT, n INT)")
        con.execute("INSERT INTO frame VALUES (1, 'new', 1)")
        con.commit()
        assert rows(con, "SELECT * FROM frame") == [(1, "new", 1)]


def test_savepoints_undo_ddl_since_them(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE base (id BIGINT PRIMARY KEY)")
        con.execute("INSERT INTO base VALUES (1)")
        con.begin()
        con.execute("INSERT INTO base VALUES (2)")
        con.execute("SAVEPOINT a")
        con.execute("CREATE TABLE later (id BIGINT PRIMARY KEY)")
        con.execute("DROP TABLE base")
        con.execute("ROLLBACK TO SAVEPOINT a")
        assert "later" not in _tables(con)
        assert rows(con, "SELECT id FROM base ORDER BY id") == [(1,), (2,)]  # back, own write too
        con.execute("SAVEPOINT b")
        con.execute("CREATE TABLE kept (id BIGINT PRIMARY KEY)")
        con.execute("RELEASE SAVEPOINT b")
        con.commit()
        assert rows(con, "SELECT id FROM base ORDER BY id") == [(1,), (2,)]
        assert rows(con, "SELECT count(*) FROM kept") == [(0,)]
        assert "later" not in _tables(con)


def test_a_block_left_open_is_rolled_back_when_its_connection_closes(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE stays (id BIGINT PRIMARY KEY)")
        con.begin()
        con.execute("CREATE TABLE abandoned (id BIGINT PRIMARY KEY)")
        con.execute("DROP TABLE stays")
    with connection(make_settings) as con:
        assert _tables(con) == ["stays"]


def test_a_failed_commit_drops_what_the_block_created(make_settings):
    with connection(make_settings) as a, connection(make_settings) as b:
        a.execute("CREATE TABLE acct (id BIGINT PRIMARY KEY, v BIGINT)")
        a.execute("INSERT INTO acct VALUES (1, 0)")
        a.begin()
        a.execute("UPDATE acct SET v = 1 WHERE id = 1")
        a.execute("CREATE TABLE audit (id BIGINT PRIMARY KEY)")
        a.execute("INSERT INTO audit VALUES (1)")
        b.execute("UPDATE acct SET v = 2 WHERE id = 1")  # commits first
        with pytest.raises(SerializationFailure):
            a.commit()
        assert "audit" not in _tables(a)
        assert rows(b, "SELECT v FROM acct") == [(2,)]


def test_drop_table_then_its_type_and_sequence_in_one_block(make_settings):
    """SQLAlchemy's drop_all() of a table with an enum column: DROP TABLE, then DROP TYPE
    in one block; the type's check must see the table gone (its drop then runs at once)."""
    with connection(make_settings) as con:
        con.execute("CREATE TYPE mood AS ENUM ('ok', 'sad')")
        con.execute("CREATE TABLE feelings (id SERIAL PRIMARY KEY, m mood)")
        con.begin()
        con.execute("DROP TABLE feelings")
        con.execute("DROP TYPE mood")
        con.commit()
        assert "feelings" not in _tables(con)
        assert rows(con, "SELECT count(*) FROM pg_type WHERE typname = 'mood'") == [(0,)]
        assert rows(con, "SELECT count(*) FROM pg_class WHERE relkind = 'S'") == [(0,)]


def test_a_table_written_then_dropped_before_a_sequence_commits(make_settings):
    """A DROP SEQUENCE runs the block's pending DROP TABLEs at once: the rows the block had
    written to those tables go with them (COMMIT appended them to the dropped table: 42P01)."""
    with connection(make_settings) as con:
        con.begin()
        con.execute("CREATE TABLE made (id SERIAL PRIMARY KEY)")
        con.execute("CREATE SEQUENCE counter")
        con.execute("INSERT INTO made DEFAULT VALUES")
        con.execute("DROP TABLE made")
        con.execute("DROP SEQUENCE counter")
        con.commit()
        assert "made" not in _tables(con)
