"""psycopg 3 as an application uses it, one test per behaviour issue 8 asks of it. Run against
PostgreSQL 15 too with ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import psycopg
import pytest
from psycopg import errors

from tests.server import clients

target = clients.target


@pytest.fixture
def conn(target):
    with psycopg.connect(target.dsn, autocommit=True) as c:
        yield c


def test_transaction_block_with_an_error_inside_rolls_back_and_the_connection_goes_on(conn):
    conn.execute("CREATE TABLE tx_items (id BIGINT PRIMARY KEY, name TEXT)")
    with pytest.raises(RuntimeError), conn.transaction():
        conn.execute("INSERT INTO tx_items VALUES (1, 'discarded')")
        raise RuntimeError("application error")
    with pytest.raises(errors.UndefinedColumn), conn.transaction():
        conn.execute("INSERT INTO tx_items VALUES (2, 'first')")
        conn.execute("UPDATE tx_items SET no_such_column = 1")
    with conn.transaction():
        conn.execute("INSERT INTO tx_items VALUES (3, 'kept')")
        with pytest.raises(errors.UndefinedTable), conn.transaction():  # a savepoint
            conn.execute("INSERT INTO tx_items VALUES (4, 'inner')")
            conn.execute("SELECT * FROM no_such_table")
        conn.execute("INSERT INTO tx_items VALUES (5, 'after the savepoint')")
    rows = conn.execute("SELECT id, name FROM tx_items ORDER BY id").fetchall()
    assert rows == [(3, "kept"), (5, "after the savepoint")]


def test_named_cursor_streams_in_batches_and_with_hold_outlives_the_commit(target):
    with psycopg.connect(target.dsn) as conn:  # not autocommit: named cursors need a block
        conn.execute("CREATE TABLE nc_items (id BIGINT PRIMARY KEY, v TEXT)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO nc_items VALUES (%s, %s)",
                            [(i, f"v{i}") for i in range(250)])  # fmt: skip
        conn.commit()
        with conn.cursor(name="batches") as cur:
            cur.itersize = 40
            cur.execute("SELECT id, v FROM nc_items WHERE id >= %s ORDER BY id", (10,))
            assert [d.name for d in cur.description] == ["id", "v"]
            assert cur.fetchone() == (10, "v10")
            assert cur.fetchmany(3) == [(11, "v11"), (12, "v12"), (13, "v13")]
            assert [row[0] for row in cur] == list(range(14, 250))
        with conn.cursor(name="held", withhold=True) as cur:
            cur.execute("SELECT id FROM nc_items ORDER BY id")
            conn.commit()
            assert len(cur.fetchall()) == 250


def test_serial_identity_sequences_and_returning(conn):
    conn.execute("CREATE TABLE rt_serial (id SERIAL PRIMARY KEY, name TEXT NOT NULL)")
    conn.execute("CREATE TABLE rt_identity (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                 " n INTEGER DEFAULT 7)")  # fmt: skip
    ids = [conn.execute("INSERT INTO rt_serial (name) VALUES (%s) RETURNING id", (name,))
           .fetchone()[0] for name in ("a", "b")]  # fmt: skip
    assert ids == [1, 2]
    row = conn.execute("INSERT INTO rt_identity DEFAULT VALUES RETURNING id, n").fetchone()
    assert row == (1, 7)
    cur = conn.execute("UPDATE rt_serial SET name = upper(name) RETURNING id, name")
    assert sorted(cur.fetchall()) == [(1, "A"), (2, "B")]
    assert conn.execute("DELETE FROM rt_serial WHERE id = 1 RETURNING name").fetchall() == [("A",)]
    conn.execute("CREATE SEQUENCE rt_seq START 100")
    assert [conn.execute("SELECT nextval('rt_seq')").fetchone()[0] for _ in range(2)] == [
        100,
        101,
    ]


def assert_upserts_by_primary_key(conn, target, sql: str, table: str, row: tuple) -> None:
    """INSERT of an existing primary key: an upsert here (DESIGN.md §2, decision 0034),
    23505 in PostgreSQL."""
    if target.kind == "pg15":
        with pytest.raises(errors.UniqueViolation):
            conn.execute(sql)
    else:
        conn.execute(sql)
        assert row in conn.execute(f"SELECT * FROM {table}").fetchall()


def test_constraints_are_enforced_with_postgres_sqlstates(conn, target):
    conn.execute("CREATE TABLE c_parent (id INTEGER PRIMARY KEY, code TEXT UNIQUE)")
    conn.execute(
        "CREATE TABLE c_child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL "
        "REFERENCES c_parent (id), qty INTEGER CHECK (qty > 0))"
    )
    conn.execute("INSERT INTO c_parent VALUES (1, 'x')")
    conn.execute("INSERT INTO c_child VALUES (1, 1, 5)")
    upsert = "INSERT INTO c_parent VALUES (1, 'y')"
    assert_upserts_by_primary_key(conn, target, upsert, "c_parent", (1, "y"))
    conn.execute("INSERT INTO c_parent VALUES (1, 'z') ON CONFLICT (id) DO NOTHING")
    (code,) = conn.execute("SELECT code FROM c_parent WHERE id = 1").fetchone()
    assert code != "z"  # DO NOTHING kept the row
    for sql, error in [
        (f"INSERT INTO c_parent VALUES (2, '{code}')", errors.UniqueViolation),  # UNIQUE
        ("INSERT INTO c_child VALUES (2, NULL, 1)", errors.NotNullViolation),  # 23502
        ("INSERT INTO c_child VALUES (3, 1, 0)", errors.CheckViolation),  # 23514
        ("INSERT INTO c_child VALUES (4, 9, 1)", errors.ForeignKeyViolation),  # 23503
        ("DELETE FROM c_parent WHERE id = 1", errors.ForeignKeyViolation),
    ]:
        with pytest.raises(error):
            conn.execute(sql)
    assert conn.execute("SELECT count(*) FROM c_child").fetchone() == (1,)


def test_keys_quoted_names_and_truncate(conn, target):
    conn.execute('CREATE TABLE "Order Lines" ("OrderId" INTEGER, "line.no" SMALLINT, '
                 '"Qty" INTEGER, PRIMARY KEY ("OrderId", "line.no"))')  # fmt: skip
    conn.execute('INSERT INTO "Order Lines" VALUES (1, 1, 5), (1, 2, 6), (2, 1, 7)')
    upsert = 'INSERT INTO "Order Lines" VALUES (1, 2, 9)'
    assert_upserts_by_primary_key(conn, target, upsert, '"Order Lines"', (1, 2, 9))
    qty = 14 if target.kind == "elacsym" else 11
    cur = conn.execute('SELECT "OrderId", sum("Qty") FROM "Order Lines" GROUP BY "OrderId" '
                       'ORDER BY 1')  # fmt: skip
    assert [d.name for d in cur.description] == ["OrderId", "sum"]
    assert cur.fetchall() == [(1, qty), (2, 7)]
    conn.execute("CREATE TABLE log_lines (at TEXT, msg TEXT)")  # no key at all
    conn.execute("INSERT INTO log_lines VALUES ('t1', 'same'), ('t1', 'same')")
    assert conn.execute("SELECT count(*) FROM log_lines").fetchone() == (2,)
    conn.execute("DELETE FROM log_lines WHERE msg = 'same'")
    conn.execute("INSERT INTO log_lines VALUES ('t2', 'again')")
    cur = conn.execute('TRUNCATE log_lines, "Order Lines"')
    assert cur.statusmessage == "TRUNCATE TABLE"
    assert conn.execute('SELECT count(*) FROM "Order Lines"').fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM log_lines").fetchone() == (0,)


def test_result_shape_names_arithmetic_and_session_functions(conn, target):
    conn.execute("CREATE TABLE shape (id BIGINT PRIMARY KEY, price INTEGER)")
    conn.execute("INSERT INTO shape VALUES (1, 10), (2, 20)")
    cur = conn.execute("SELECT count(*), sum(price), max(price), 1 + 1, 15 / 10, -7 / 2, "
                       "current_user, session_user, current_database() FROM shape")  # fmt: skip
    names = [d.name for d in cur.description]
    assert names == ["count", "sum", "max", "?column?", "?column?", "?column?",
                     "current_user", "session_user", "current_database"]  # fmt: skip
    assert cur.fetchone() == (2, 30, 20, 2, 1, -3, target.user, target.user, target.dbname)
    assert [d.name for d in conn.execute("SELECT version()").description] == ["version"]
    with pytest.raises(errors.DivisionByZero):  # 22012
        conn.execute("SELECT 1 / 0")
    with pytest.raises(errors.NumericValueOutOfRange):  # 22003
        conn.execute("SELECT '1e999'::float8")
    with pytest.raises(errors.NumericValueOutOfRange):
        conn.execute("SELECT 2147483647::integer + 1")


UTILITY = [  # in order: each statement may need the ones before
    ("DROP TABLE IF EXISTS never_made", "DROP TABLE"),
    ("CREATE TABLE tagged (id BIGINT PRIMARY KEY, v TEXT)", "CREATE TABLE"),
    ("CREATE INDEX tagged_v ON tagged (v)", "CREATE INDEX"),
    ("COMMENT ON TABLE tagged IS 'for tags'", "COMMENT"),
    ("ANALYZE tagged", "ANALYZE"),
    ("VACUUM tagged", "VACUUM"),
    ("CREATE VIEW tagged_view AS SELECT id FROM tagged", "CREATE VIEW"),
    ("DROP VIEW tagged_view", "DROP VIEW"),
    ("CREATE SCHEMA tag_schema", "CREATE SCHEMA"),
    ("DROP SCHEMA tag_schema", "DROP SCHEMA"),
    ("SET application_name = 'tags'", "SET"),
    ("RESET application_name", "RESET"),
    ("DROP INDEX tagged_v", "DROP INDEX"),
    ("DROP TABLE tagged", "DROP TABLE"),
]


def test_utility_statements_answer_with_their_command_tag(conn):
    answers = []
    for sql, _tag in UTILITY:
        try:
            cur = conn.execute(sql)
            answers.append((sql, cur.statusmessage, cur.description))
        except psycopg.Error as exc:
            answers.append((sql, f"{exc.sqlstate}: {exc}", None))
    assert answers == [(sql, tag, None) for sql, tag in UTILITY]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_types_round_trip_in_both_formats(target, binary):
    table = f"typed_{'b' if binary else 't'}"
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        mood = f"mood_{table}"
        conn.execute(f"CREATE TYPE {mood} AS ENUM ('sad', 'ok', 'happy')")
        conn.execute(
            f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, amount NUMERIC(10, 2), "
            f"ratio REAL, happened TIMESTAMPTZ, t TIME, span INTERVAL, blob BYTEA, doc JSONB, "
            f"feeling {mood}, tags TEXT[], small SMALLINT)"
        )
        at = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
        values = (1, decimal.Decimal("12345678.91"), 0.5, at, dt.time(13, 14, 15),
                  dt.timedelta(days=2, hours=3), b"\x00\xffbytes", json.dumps({"a": [1, 2]}),
                  "happy", ["x", 'quo"ted', "with space"], -32768)  # fmt: skip
        conn.execute(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                     values)  # fmt: skip
        conn.execute(f"INSERT INTO {table} (id, amount, tags) VALUES "
                     f"(2, 0.125, '{{a,\"b c\",\"d,e\"}}')")  # fmt: skip
        with conn.cursor(binary=binary) as cur:
            # an enum's OID is the database's own: psycopg reads it as text only when cast
            row = cur.execute(
                f"SELECT id, amount, ratio, happened, t, span, blob, doc, "
                f"feeling::text, tags, small FROM {table} WHERE id = 1"
            ).fetchone()
            assert row[:3] == (1, decimal.Decimal("12345678.91"), 0.5)
            assert row[3] == at and row[4] == dt.time(13, 14, 15)
            assert row[5] == dt.timedelta(days=2, hours=3)
            assert row[6] == b"\x00\xffbytes" and row[7] == {"a": [1, 2]}
            assert row[8] == "happy" and row[9] == ["x", 'quo"ted', "with space"]
            assert row[10] == -32768
            row = cur.execute(f"SELECT amount, tags FROM {table} WHERE id = 2").fetchone()
            assert row == (decimal.Decimal("0.13"), ["a", "b c", "d,e"])
        with pytest.raises(errors.InvalidTextRepresentation):  # 22P02
            conn.execute(f"INSERT INTO {table} (id, feeling) VALUES (3, 'angry')")


def test_sql_cursors_declare_fetch_move_close(conn):
    conn.execute("CREATE TABLE sc_items (id BIGINT PRIMARY KEY)")
    conn.execute("INSERT INTO sc_items SELECT g FROM generate_series(1, 10) g")
    with conn.transaction():
        conn.execute("DECLARE c CURSOR FOR SELECT id FROM sc_items ORDER BY id")
        assert conn.execute("FETCH 2 FROM c").fetchall() == [(1,), (2,)]
        assert conn.execute("MOVE 3 IN c").statusmessage == "MOVE 3"
        assert conn.execute("FETCH NEXT FROM c").fetchall() == [(6,)]
        assert conn.execute("CLOSE c").statusmessage == "CLOSE CURSOR"
        conn.execute("DECLARE h CURSOR WITH HOLD FOR SELECT id FROM sc_items ORDER BY id DESC")
    assert conn.execute("FETCH 3 FROM h").fetchall() == [(10,), (9,), (8,)]
    assert conn.execute("FETCH ALL FROM h").statusmessage == "FETCH 7"
    conn.execute("CLOSE h")


def test_concurrent_writers_of_one_key_first_committer_wins(target):
    with psycopg.connect(target.dsn, autocommit=True) as setup:
        setup.execute("CREATE TABLE counters (id BIGINT PRIMARY KEY, n INTEGER)")
        setup.execute("INSERT INTO counters VALUES (1, 0)")
    first = psycopg.connect(target.dsn)
    second = psycopg.connect(target.dsn)
    with first, second:
        for c in (first, second):
            c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            assert c.execute("SELECT n FROM counters WHERE id = 1").fetchone() == (0,)
        first.execute("UPDATE counters SET n = n + 1 WHERE id = 1")
        first.commit()
        with pytest.raises(errors.SerializationFailure):  # 40001, at the write or the commit
            second.execute("UPDATE counters SET n = n + 1 WHERE id = 1")
            second.commit()
        second.rollback()
        assert second.execute("SELECT n FROM counters").fetchone() == (1,)


def test_keys_report_their_declared_type(conn):
    conn.execute("CREATE TABLE key_uuid (id UUID PRIMARY KEY, label TEXT)")
    conn.execute("CREATE TABLE key_small (id SMALLINT PRIMARY KEY, label TEXT)")
    conn.execute("CREATE TABLE key_int (id INTEGER PRIMARY KEY)")
    conn.execute("CREATE TABLE key_text (id TEXT PRIMARY KEY)")
    declared = conn.execute(
        "SELECT table_name, data_type FROM information_schema.columns WHERE column_name = 'id' "
        "AND table_name LIKE 'key%' ORDER BY table_name"
    ).fetchall()
    assert declared == [("key_int", "integer"), ("key_small", "smallint"), ("key_text", "text"),
                        ("key_uuid", "uuid")]  # fmt: skip


def test_catalog_answers_what_tools_ask(conn):
    conn.execute("CREATE TABLE cat_a (id BIGINT PRIMARY KEY, label TEXT)")
    conn.execute("CREATE TABLE cat_b (id BIGINT PRIMARY KEY)")
    oid = conn.execute("SELECT 'cat_a'::regclass::oid").fetchone()[0]
    assert conn.execute("SELECT relname FROM pg_class WHERE oid = %s", (oid,)).fetchone() == (
        "cat_a",
    )
    quoted = conn.execute("SELECT quote_literal('it''s'), quote_ident('Mixed Case'), "
                          "quote_ident('plain')").fetchone()  # fmt: skip
    assert quoted == ("'it''s'", '"Mixed Case"', "plain")
    assert conn.execute("SELECT count(*) >= 0 FROM pg_locks").fetchone() == (True,)
    stats = conn.execute("SELECT relname FROM pg_stat_user_tables WHERE relname LIKE 'cat%' "
                         "ORDER BY relname").fetchall()  # fmt: skip
    assert stats == [("cat_a",), ("cat_b",)]
    setting = "SELECT setting FROM pg_settings WHERE name = 'max_index_keys'"
    assert conn.execute(setting).fetchone() == ("32",)
