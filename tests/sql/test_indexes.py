"""CREATE [UNIQUE] INDEX and DROP INDEX on namespaces (decision 0032): a unique index is
checked against the stored rows, then enforced on every write like UNIQUE; every index is
durable in the schema and listed by the catalog; names, errors and words as PostgreSQL 15's."""

from __future__ import annotations

import pytest

import elacsym_sql
from tests.helpers import connection, fold, rows


@pytest.fixture
def con(make_settings):
    with connection(make_settings) as c:
        c.execute(
            "CREATE TABLE users (user_id INTEGER PRIMARY KEY, test1 TEXT NOT NULL,"
            " test2 DOUBLE NOT NULL, q TEXT)"
        )
        c.execute("INSERT INTO users VALUES (1, 'a', 1, NULL), (2, 'a', 1, NULL), (3, 'b', 2, 'x')")
        yield c


def fails(con, sql: str, sqlstate: str) -> elacsym_sql.Error:
    before = rows(con, "SELECT * FROM users ORDER BY ALL")
    with pytest.raises(elacsym_sql.Error) as info:
        con.execute(sql)
    assert info.value.sqlstate == sqlstate, info.value
    assert rows(con, "SELECT * FROM users ORDER BY ALL") == before
    return info.value


def indexes(con) -> list[tuple]:
    return rows(
        con,
        "SELECT c.relname, i.indisunique, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisprimary ORDER BY 1",
    )


def test_unique_index_refused_over_duplicates_then_enforced(con):
    err = fails(con, "CREATE UNIQUE INDEX users_t_idx ON users (test1, test2)", "23505")
    assert err.message == 'could not create unique index "users_t_idx"'
    assert err.detail == "Key (test1, test2)=(a, 1.0) is duplicated."
    assert indexes(con) == []
    con.execute("DELETE FROM users WHERE user_id = 2")
    con.execute("CREATE UNIQUE INDEX users_t_idx ON users (test1, test2)")
    err = fails(con, "INSERT INTO users VALUES (4, 'a', 1, NULL)", "23505")
    assert err.message == 'duplicate key value violates unique constraint "users_t_idx"'
    assert err.detail == "Key (test1, test2)=(a, 1.0) already exists."
    fails(con, "UPDATE users SET test1 = 'a', test2 = 1 WHERE user_id = 3", "23505")
    with pytest.raises(elacsym_sql.Error, match="users_t_idx"):
        twice = [(5, "z", 1, None), (6, "z", 1, None)]
        con.executemany("INSERT INTO users VALUES (?, ?, ?, ?)", twice)
    con.execute("INSERT INTO users VALUES (1, 'a', 1, 'same row again')")  # its own key: fine
    con.execute("INSERT INTO users VALUES (6, 'a', 1, NULL) ON CONFLICT (test1, test2) DO NOTHING")
    assert rows(con, "SELECT count(*) FROM users") == [(2,)]


def test_unique_index_is_durable_and_dropped(make_settings, con):
    con.execute("CREATE UNIQUE INDEX ON users (q)")
    fold(con, "users")  # the folded manifest keeps it
    with connection(make_settings) as other:  # another engine: read from storage
        err = fails(other, "INSERT INTO users VALUES (9, 'c', 3, 'x')", "23505")
        assert err.message == 'duplicate key value violates unique constraint "users_q_idx"'
        assert indexes(other) == [
            ("users_q_idx", True, "CREATE UNIQUE INDEX users_q_idx ON public.users USING btree (q)")
        ]
        assert other.execute("DROP INDEX users_q_idx").fetchall() == []
    with connection(make_settings) as third:
        third.execute("INSERT INTO users VALUES (9, 'c', 3, 'x')")
        assert indexes(third) == []


def test_plain_indexes_are_recorded_with_postgres_names(con):
    for sql in (
        "CREATE INDEX users_all_idx ON users (user_id, test2, test1)",
        "CREATE INDEX ON users (q DESC)",
        "CREATE INDEX ON users (q DESC)",
        "CREATE INDEX ON users (lower(q), test1 NULLS FIRST)",
        "CREATE INDEX IF NOT EXISTS users_all_idx ON users (q)",  # exists: nothing changes
    ):
        con.execute(sql)
    assert indexes(con) == [
        ("users_all_idx", False,
         "CREATE INDEX users_all_idx ON public.users USING btree (user_id, test2, test1)"),
        ("users_lower_test1_idx", False,
         "CREATE INDEX users_lower_test1_idx ON public.users USING btree "
         "(lower(q), test1 NULLS FIRST)"),
        ("users_q_idx", False, "CREATE INDEX users_q_idx ON public.users USING btree (q DESC)"),
        ("users_q_idx1", False, "CREATE INDEX users_q_idx1 ON public.users USING btree (q DESC)"),
    ]  # fmt: skip
    opts = rows(
        con,
        "SELECT indoption::VARCHAR FROM pg_index i JOIN pg_class c "
        "ON c.oid = i.indexrelid WHERE c.relname = 'users_lower_test1_idx'",
    )
    assert opts == [("[0, 2]",)]
    # Indexes are not constraints.
    assert rows(con, "SELECT conname FROM pg_constraint") == [("users_pkey",)]
    con.execute("DROP INDEX IF EXISTS nope, users_q_idx")
    con.execute("DROP INDEX users_q_idx1, users_lower_test1_idx")
    assert [r[0] for r in indexes(con)] == ["users_all_idx"]
    con.execute("DROP TABLE users")
    con.execute("CREATE TABLE users (user_id INTEGER PRIMARY KEY)")
    assert indexes(con) == []  # went with the table


def test_index_errors_as_postgres(con):
    con.execute("CREATE INDEX users_all_idx ON users (user_id)")
    fails(con, "CREATE INDEX users_all_idx ON users (q)", "42P07")
    fails(con, "CREATE INDEX users ON users (q)", "42P07")  # a table's name
    fails(con, "CREATE INDEX users_pkey ON users (q)", "42P07")
    fails(con, "CREATE INDEX ON users (nope)", "42703")
    fails(con, "CREATE INDEX ON users (lower(nope))", "42703")
    fails(con, "CREATE UNIQUE INDEX ON users ((lower(q)))", "0A000")
    fails(con, "CREATE UNIQUE INDEX ON users USING hash (q)", "0A000")
    fails(con, "CREATE UNIQUE INDEX ON users (q) WHERE q IS NOT NULL", "0A000")
    err = fails(con, "DROP INDEX nope", "42704")
    assert err.message == 'index "nope" does not exist'
    err = fails(con, "DROP INDEX users_pkey", "2BP01")
    assert err.message == (
        "cannot drop index users_pkey because constraint users_pkey on table users requires it"
    )
    fails(con, "DROP INDEX users_all_idx, nope", "42704")  # all or nothing
    assert [r[0] for r in indexes(con)] == ["users_all_idx"]


def test_comments_on_constraints_and_indexes_are_checked(con):
    con.execute("CREATE UNIQUE INDEX users_t_idx ON users (q)")
    con.execute("COMMENT ON CONSTRAINT users_pkey ON users IS 'the key'")
    con.execute("COMMENT ON INDEX users_t_idx IS 'an index'")
    err = fails(con, "COMMENT ON CONSTRAINT nope ON users IS 'x'", "42704")
    assert err.message == 'constraint "nope" for table "users" does not exist'


def test_a_named_primary_key_keeps_its_name(con):
    con.execute("CREATE TABLE addr (id INTEGER, n TEXT, CONSTRAINT addr_pk PRIMARY KEY (id))")
    assert rows(con, "SELECT conname FROM pg_constraint WHERE conname LIKE 'addr%'") == [
        ("addr_pk",)
    ]
    con.execute("COMMENT ON CONSTRAINT addr_pk ON addr IS 'the key'")
    con.execute("INSERT INTO addr VALUES (1, 'a')")
    with pytest.raises(elacsym_sql.Error, match='unique constraint "addr_pk"'):
        con.execute("INSERT INTO addr VALUES (1, 'b'), (1, 'c')")
