"""NOT NULL, DEFAULT, CHECK, UNIQUE and FOREIGN KEY enforced on write with PostgreSQL 15's
SQLSTATEs and words, a refused statement writing nothing; RETURNING; TRUNCATE."""

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
        c.execute(
            "CREATE TABLE p (id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
            " n INT CHECK (n > 0) DEFAULT 5, m INT, CONSTRAINT mm CHECK (m < 10))"
        )
        c.execute(
            "CREATE TABLE c (id INT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " pid INT REFERENCES p (id), x INT DEFAULT 7)"
        )
        c.execute("INSERT INTO p (name) VALUES ('a'), ('b')")
        yield c


def refused(con, sql: str, sqlstate: str) -> elacsym_sql.Error:
    """Run `sql`; it must fail with `sqlstate` and change no table."""
    before = {t: rows(con, f"SELECT * FROM {t} ORDER BY ALL") for t in ("p", "c")}
    with pytest.raises(elacsym_sql.Error) as info:
        con.execute(sql)
    assert info.value.sqlstate == sqlstate, info.value
    assert {t: rows(con, f"SELECT * FROM {t} ORDER BY ALL") for t in ("p", "c")} == before
    return info.value


def test_not_null(con):
    err = refused(con, "INSERT INTO p (name) VALUES ('ok'), (NULL)", "23502")
    assert err.message == 'null value in column "name" of relation "p" violates not-null constraint'
    assert err.detail.startswith("Failing row contains (") and "null" in err.detail
    refused(con, "UPDATE p SET name = NULL WHERE id = 1", "23502")
    refused(con, "INSERT INTO p DEFAULT VALUES", "23502")


def test_defaults(con):
    assert rows(con, "INSERT INTO p (name) VALUES ('c') RETURNING n, m") == [(5, None)]
    assert rows(con, "INSERT INTO c (pid) VALUES (1) RETURNING x") == [(7,)]
    con.execute("UPDATE p SET n = 9 WHERE name = 'c'")
    assert rows(con, "UPDATE p SET n = DEFAULT WHERE name = 'c' RETURNING n") == [(5,)]


def test_check(con):
    err = refused(con, "INSERT INTO p (name, n) VALUES ('z', 0)", "23514")
    assert err.message == 'new row for relation "p" violates check constraint "p_n_check"'
    assert err.detail == "Failing row contains (3, z, 0, null)."
    err = refused(con, "UPDATE p SET m = 20 WHERE name = 'b'", "23514")
    assert err.message == 'new row for relation "p" violates check constraint "mm"'
    con.execute("INSERT INTO p (name, n) VALUES ('nulls pass', NULL)")  # NULL is not false


def test_unique(con):
    err = refused(con, "INSERT INTO p (name) VALUES ('a')", "23505")
    assert err.message == 'duplicate key value violates unique constraint "p_name_key"'
    assert err.detail == "Key (name)=(a) already exists."
    refused(con, "INSERT INTO p (name) VALUES ('q'), ('q')", "23505")
    refused(con, "UPDATE p SET name = 'b' WHERE name = 'a'", "23505")
    con.execute("UPDATE p SET name = 'a' WHERE name = 'a'")  # the row itself is no conflict
    con.execute("INSERT INTO p (id, name, n) VALUES (1, 'a', 7)")  # same key: an upsert
    assert rows(con, "SELECT n FROM p WHERE id = 1") == [(7,)]
    got = rows(con, "INSERT INTO p (name) VALUES ('a'), ('new') ON CONFLICT (name) DO NOTHING "
                    "RETURNING name")  # fmt: skip
    assert got == [("new",)]
    got = rows(con, "INSERT INTO p (name) VALUES ('a'), ('new2') ON CONFLICT DO NOTHING "
                    "RETURNING name")  # fmt: skip
    assert got == [("new2",)]  # no target: any unique key's conflict skips the row
    con.execute("INSERT INTO p (name, n) VALUES ('a', 8) ON CONFLICT (name) DO UPDATE SET n = 9")
    assert rows(con, "SELECT id, n FROM p WHERE name = 'a'") == [(1, 9)]


def test_unique_inside_a_transaction_sees_its_own_rows(con):
    con.begin()
    con.execute("INSERT INTO p (name) VALUES ('t')")
    with pytest.raises(elacsym_sql.Error) as info:
        con.execute("INSERT INTO p (name) VALUES ('t')")
    assert info.value.sqlstate == "23505"
    con.rollback()
    assert rows(con, "SELECT count(*) FROM p WHERE name = 't'") == [(0,)]


def test_foreign_key(con):
    err = refused(con, "INSERT INTO c (pid) VALUES (99)", "23503")
    assert err.message == (
        'insert or update on table "c" violates foreign key constraint "c_pid_fkey"'
    )
    assert err.detail == 'Key (pid)=(99) is not present in table "p".'
    con.execute("INSERT INTO c (pid) VALUES (1), (NULL)")  # NULL references nothing
    err = refused(con, "DELETE FROM p WHERE id = 1", "23503")
    assert err.message == (
        'update or delete on table "p" violates foreign key constraint "c_pid_fkey" on table "c"'
    )
    assert err.detail == 'Key (id)=(1) is still referenced from table "c".'
    con.execute("DELETE FROM p WHERE id = 2")  # not referenced
    refused(con, "DROP TABLE p", "2BP01")
    refused(con, "TRUNCATE p", "0A000")
    con.execute("TRUNCATE p, c")
    assert rows(con, "SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM c)") == [(0, 0)]
    con.execute("DROP TABLE c")
    con.execute("DROP TABLE p")  # nothing references it any more


def test_foreign_key_inside_a_transaction_sees_the_block(con):
    con.begin()
    con.execute("INSERT INTO p (id, name) VALUES (50, 'in block')")
    con.execute("INSERT INTO c (pid) VALUES (50)")
    con.commit()
    assert rows(con, "SELECT pid FROM c") == [(50,)]


def test_self_reference(con):
    con.execute("CREATE TABLE tree (id INT PRIMARY KEY, parent INT REFERENCES tree)")
    con.execute("INSERT INTO tree VALUES (1, NULL), (2, 1), (3, 2)")  # rows reference rows
    refused_tree = pytest.raises(elacsym_sql.Error)
    with refused_tree as info:
        con.execute("DELETE FROM tree WHERE id = 2")
    assert info.value.sqlstate == "23503"
    con.execute("DELETE FROM tree WHERE id >= 2")  # parent and child go together
    assert rows(con, "SELECT id FROM tree") == [(1,)]


def test_unsupported_constraint_options_are_refused(con):
    for sql in (
        "CREATE TABLE x (id INT PRIMARY KEY, p INT REFERENCES p ON DELETE CASCADE)",
        "CREATE TABLE x (id INT PRIMARY KEY, p INT REFERENCES p ON DELETE SET NULL)",
    ):
        with pytest.raises(elacsym_sql.Error) as info:
            con.execute(sql)
        assert info.value.sqlstate == "0A000"
    with pytest.raises(elacsym_sql.Error) as info:
        con.execute("CREATE TABLE x (id INT PRIMARY KEY, p TEXT REFERENCES p (name))")
    assert info.value.sqlstate == "42830"
    assert "x" not in con.database.engine.list_namespaces()


def test_returning(con):
    assert rows(con, "INSERT INTO p (name) VALUES ('r') RETURNING *") == [(3, "r", 5, None)]
    got = rows(con, "UPDATE p AS q SET n = n * 2 WHERE q.name IN ('a', 'r') "
                    "RETURNING q.name, n ORDER BY 1")  # fmt: skip
    assert sorted(got) == [("a", 10), ("r", 10)]
    cur = con.execute("DELETE FROM p WHERE name = 'r' RETURNING id, upper(name) AS u")
    assert cur.fetchall() == [(3, "R")]
    assert cur.description[1][0] == "u"
    assert rows(con, "SELECT count(*) FROM p") == [(2,)]


def test_truncate_restart_identity(con):
    con.execute("CREATE TABLE s (id SERIAL PRIMARY KEY, v TEXT)")
    con.execute("INSERT INTO s (v) VALUES ('a'), ('b')")
    con.execute("TRUNCATE TABLE s RESTART IDENTITY")
    assert rows(con, "INSERT INTO s (v) VALUES ('c') RETURNING id") == [(1,)]
    con.begin()
    con.execute("TRUNCATE s")
    assert rows(con, "SELECT count(*) FROM s") == [(0,)]
    con.rollback()
    assert rows(con, "SELECT v FROM s") == [("c",)]
