"""What pgbench -i and ORMs' migrations send before any data: DROP TABLE of several tables,
Postgres storage parameters, VACUUM / ANALYZE, and names DuckDB reads as keywords. Run
against PostgreSQL 15 too with ELACSYM_CLIENT_TESTS_PG=1 (the expectations are its own)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from tests.server import clients

target = clients.target


@pytest.fixture
def conn(target):
    with psycopg.connect(target.dsn, autocommit=True) as c:
        yield c


def test_drop_table_of_several_tables(conn):
    for name in ("u_a", "u_b"):
        conn.execute(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, v TEXT)")
        conn.execute(f"INSERT INTO {name} VALUES (1, 'x')")
    with pytest.raises(errors.UndefinedTable, match='table "u_missing" does not exist'):
        conn.execute("DROP TABLE u_a, u_missing")
    assert conn.execute("SELECT count(*) FROM u_a").fetchone() == (1,)  # nothing dropped
    cur = conn.execute("DROP TABLE IF EXISTS u_never, u_never_either")
    assert (cur.statusmessage, cur.description) == ("DROP TABLE", None)
    assert conn.execute("DROP TABLE IF EXISTS u_a, u_missing, u_b").statusmessage == "DROP TABLE"
    for name in ("u_a", "u_b"):
        with pytest.raises(errors.UndefinedTable):
            conn.execute(f"SELECT * FROM {name}")


def test_storage_parameters_are_accepted_unknown_ones_refused(conn):
    conn.execute("CREATE TABLE u_tuned (id INT NOT NULL, filler CHAR(84)) "
                 "WITH (fillfactor = 100, autovacuum_enabled = false)")  # fmt: skip
    conn.execute("INSERT INTO u_tuned VALUES (1, 'x')")
    assert conn.execute("SELECT id FROM u_tuned").fetchall() == [(1,)]
    with pytest.raises(errors.InvalidParameterValue):
        conn.execute("CREATE TABLE u_untuned (id INT) WITH (foo = 1)")


@pytest.mark.parametrize(
    ("sql", "tag"),
    [("VACUUM u_maint", "VACUUM"), ("VACUUM ANALYZE u_maint", "VACUUM"),
     ("VACUUM (VERBOSE false, ANALYZE) u_maint, u_maint", "VACUUM"), ("VACUUM", "VACUUM"),
     ("VACUUM FULL FREEZE u_maint", "VACUUM"), ("ANALYZE u_maint", "ANALYZE"),
     ("ANALYSE u_maint (v)", "ANALYZE"), ("analyze", "ANALYZE"),
     ("ANALYZE public.u_maint", "ANALYZE")],
)  # fmt: skip
def test_vacuum_and_analyze_answer_their_tags(conn, sql, tag):
    conn.execute("CREATE TABLE IF NOT EXISTS u_maint (id BIGINT PRIMARY KEY, v TEXT)")
    cur = conn.execute(sql)
    assert (cur.statusmessage, cur.description) == (tag, None)


def test_vacuum_and_analyze_check_what_they_name(conn):
    conn.execute("CREATE TABLE u_checked (id BIGINT PRIMARY KEY, v TEXT)")
    with pytest.raises(errors.UndefinedTable, match='relation "u_nosuch" does not exist'):
        conn.execute("ANALYZE u_nosuch")
    with pytest.raises(errors.UndefinedTable):
        conn.execute("VACUUM u_checked, u_nosuch")
    with pytest.raises(errors.UndefinedColumn, match='column "w" of relation "u_checked"'):
        conn.execute("ANALYZE u_checked (v, w)")
    conn.execute("BEGIN")
    with pytest.raises(errors.ActiveSqlTransaction, match="inside a transaction block"):
        conn.execute("VACUUM u_checked")
    conn.execute("ROLLBACK")
    conn.execute("BEGIN")
    assert conn.execute("ANALYZE u_checked").statusmessage == "ANALYZE"
    conn.execute("COMMIT")


def test_names_duckdb_reads_as_keywords(conn):
    conn.execute("CREATE TABLE u_log (id BIGINT PRIMARY KEY, at TEXT, asof INT, semi INT, "
                 "describe TEXT, qualify INT, glob TEXT)")  # fmt: skip
    conn.execute("INSERT INTO u_log (id, at, asof, semi, describe, qualify, glob) "
                 "VALUES (1, 't1', 2, 3, 'd', 4, 'g*')")  # fmt: skip
    cur = conn.execute("SELECT at, asof, semi, describe, qualify, glob FROM u_log "
                       "WHERE at = %s ORDER BY at", ["t1"])  # fmt: skip
    assert [d.name for d in cur.description] == ["at", "asof", "semi", "describe", "qualify",
                                                 "glob"]  # fmt: skip
    assert cur.fetchall() == [("t1", 2, 3, "d", 4, "g*")]
    conn.execute("UPDATE u_log SET at = 't2' WHERE asof = 2")
    got = conn.execute("SELECT l.at, count(*) FROM u_log AS l GROUP BY at").fetchall()
    assert got == [("t2", 1)]
    stamp = "SELECT TIMESTAMPTZ '2024-01-02 03:04:05+00' AT TIME ZONE 'UTC'"
    assert str(conn.execute(stamp).fetchone()[0]) == "2024-01-02 03:04:05"


def test_alter_table_adds_a_primary_key_after_the_rows(conn):
    conn.execute("CREATE TABLE u_keyless (a INT, b INT, note TEXT)")
    conn.execute("INSERT INTO u_keyless VALUES (1, NULL, 'x'), (2, 2, 'y'), (2, 3, 'z')")
    with pytest.raises(errors.NotNullViolation, match='column "b" of relation "u_keyless" '
                       "contains null values"):  # fmt: skip
        conn.execute("ALTER TABLE u_keyless ADD PRIMARY KEY (b)")
    with pytest.raises(errors.UniqueViolation, match='could not create unique index '
                       '"u_keyless_pkey"') as raised:  # fmt: skip
        conn.execute("ALTER TABLE u_keyless ADD PRIMARY KEY (a)")
    assert raised.value.diag.message_detail == "Key (a)=(2) is duplicated."
    with pytest.raises(errors.UndefinedColumn):
        conn.execute("ALTER TABLE u_keyless ADD PRIMARY KEY (nosuch)")
    conn.execute("DELETE FROM u_keyless WHERE note = 'z'")
    cur = conn.execute("ALTER TABLE u_keyless ADD PRIMARY KEY (a)")
    assert (cur.statusmessage, cur.description) == ("ALTER TABLE", None)
    with pytest.raises(errors.InvalidTableDefinition, match="multiple primary keys"):
        conn.execute("ALTER TABLE u_keyless ADD CONSTRAINT other PRIMARY KEY (b)")
    with pytest.raises(errors.UniqueViolation, match='unique constraint "u_keyless_pkey"'):
        conn.execute("INSERT INTO u_keyless VALUES (2, 9, 'again')")
    with pytest.raises(errors.NotNullViolation):
        conn.execute("INSERT INTO u_keyless VALUES (NULL, 9, 'no key')")
    conn.execute("INSERT INTO u_keyless VALUES (2, 9, 'kept'), (3, 3, 'new') "
                 "ON CONFLICT (a) DO NOTHING")  # fmt: skip
    assert conn.execute("SELECT a, b, note FROM u_keyless ORDER BY a").fetchall() == [
        (1, None, "x"), (2, 2, "y"), (3, 3, "new")]  # fmt: skip
    key = conn.execute(
        "SELECT conname, contype FROM pg_constraint WHERE conrelid = 'u_keyless'::regclass"
    ).fetchall()
    assert key == [("u_keyless_pkey", "p")]
    nullable = conn.execute("SELECT is_nullable FROM information_schema.columns "
                            "WHERE table_name = 'u_keyless' AND column_name = 'a'")  # fmt: skip
    assert nullable.fetchone() == ("NO",)


def test_other_alter_table_actions_are_refused(conn, target):
    if target.kind == "pg15":
        pytest.skip("PostgreSQL adds columns; here ALTER TABLE adds a primary key only")
    conn.execute("CREATE TABLE u_fixed (id BIGINT PRIMARY KEY)")
    with pytest.raises(errors.FeatureNotSupported, match="ADD PRIMARY KEY"):
        conn.execute("ALTER TABLE u_fixed ADD COLUMN extra TEXT")


def test_drop_and_create_of_one_table_inside_a_block(conn):
    """pandas to_sql(if_exists="replace"): DROP TABLE and CREATE TABLE of the same name, then
    the rows, in one transaction."""
    conn.execute("CREATE TABLE u_frame (id BIGINT PRIMARY KEY, v TEXT)")
    conn.execute("INSERT INTO u_frame VALUES (1, 'old'), (2, 'old')")
    with conn.transaction():
        assert conn.execute("SELECT count(*) FROM u_frame").fetchone() == (2,)  # pinned
        conn.execute("INSERT INTO u_frame VALUES (3, 'staged, then dropped')")
        conn.execute("DROP TABLE u_frame")
        with pytest.raises(errors.UndefinedTable), conn.transaction():  # a savepoint
            conn.execute("SELECT * FROM u_frame")
        conn.execute("CREATE TABLE u_frame (id BIGINT PRIMARY KEY, v TEXT, n INT)")
        conn.execute("INSERT INTO u_frame VALUES (1, 'new', 1)")
        assert conn.execute("SELECT * FROM u_frame").fetchall() == [(1, "new", 1)]
    assert conn.execute("SELECT * FROM u_frame").fetchall() == [(1, "new", 1)]


def test_pg_backend_pid_is_the_session_s_backend_key(dsn):
    with psycopg.connect(dsn, autocommit=True) as a, psycopg.connect(dsn, autocommit=True) as b:
        pids = [c.execute("SELECT pg_backend_pid()").fetchone()[0] for c in (a, b)]
        assert pids == [a.info.backend_pid, b.info.backend_pid] and pids[0] != pids[1]
