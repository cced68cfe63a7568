"""Column types beyond the first ones (issue 8 item 5), embedded: NUMERIC(p,s), SMALLINT,
REAL, TIMESTAMPTZ, TIME, INTERVAL, BYTEA, JSON/JSONB, enum types, and Postgres array
literals in SQL text; stored faithfully through the WAL tail, a segment and a reopen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import elacsym_sql
from elacsym_sql import errors

DDL = (
    "CREATE TABLE typed (id BIGINT PRIMARY KEY, n NUMERIC(10,2), u NUMERIC, s SMALLINT,"
    " r REAL, tz TIMESTAMPTZ, tm TIME, iv INTERVAL, b BYTEA, jb JSONB, j JSON,"
    " na NUMERIC(5,1)[], ta TEXT[], v FLOAT[3])"
)
INSERT = r"""INSERT INTO typed VALUES (1, -12345678.91, 0.000000000123, -7, 1.5,
 '2024-01-02 03:04:05.123456+02', '13:14:15.5', '1 year 2 months -3 days 04:05:06.7',
 '\x00ff', '{"a": [1, 2]}', '{"b":1}', '{1.5,NULL}', '{"a b",c,NULL,"\"q"}',
 '{0.1,0.2,0.3}')"""
EXPECTED = (
    1,
    Decimal("-12345678.91"),
    Decimal("0.000000000123"),
    -7,
    1.5,
    dt.datetime(2024, 1, 2, 1, 4, 5, 123456, tzinfo=dt.UTC),
    dt.time(13, 14, 15, 500000),
    "1 year 2 months -3 days 04:05:06.7",
    b"\x00\xff",
    '{"a": [1, 2]}',
    '{"b":1}',
    [Decimal("1.5"), None],
    ["a b", "c", None, '"q'],
)


def _row(con: elacsym_sql.Connection) -> tuple:
    row = con.execute(
        "SELECT id, n, u, s, r, tz, tm, iv::VARCHAR, b, jb, j, na, ta FROM typed"
    ).fetchone()
    return (*row[:5], row[5].astimezone(dt.UTC), *row[6:])


def test_types_round_trip_through_tail_segment_and_reopen(tmp_path) -> None:
    con = elacsym_sql.connect(str(tmp_path / "d"), indexer=False)
    con.execute(DDL)
    con.execute(INSERT)
    assert _row(con) == EXPECTED  # from the WAL tail
    assert con.database.engine.fold("typed")
    assert _row(con) == EXPECTED  # from a Parquet segment
    con.close()
    con = elacsym_sql.connect(str(tmp_path / "d"), indexer=False)
    assert _row(con) == EXPECTED
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE typed)").fetchall())
    assert types["n"] == "DECIMAL(10,2)" and types["s"] == "SMALLINT"
    assert types["tz"] == "TIMESTAMP WITH TIME ZONE" and types["iv"] == "INTERVAL"
    con.close()


def test_numeric_is_exact_and_rounds_to_its_scale_as_postgres(tmp_path) -> None:
    con = elacsym_sql.connect(str(tmp_path / "d"), indexer=False)
    con.execute("CREATE TABLE money (id BIGINT PRIMARY KEY, amount NUMERIC(12,2), big NUMERIC)")
    con.execute(
        "INSERT INTO money VALUES (1, 0.1, 12345678901234567890.123456789012), (2, 0.2, 0),"
        " (3, 3.145, 1)"
    )
    total, big = con.execute("SELECT sum(amount), max(big) FROM money").fetchone()
    assert total == Decimal("3.45")  # 0.1 + 0.2 + 3.15, not 3.4499999
    assert big == Decimal("12345678901234567890.123456789012")
    with pytest.raises(errors.ElacsymError) as exc:
        con.execute("INSERT INTO money VALUES (4, 12345678901.5, 0)")  # 11 digits before .
    assert exc.value.sqlstate == "22003"
    assert con.execute("SELECT count(*) FROM money").fetchone() == (3,)
    con.close()


@pytest.mark.parametrize(
    ("ddl", "sqlstate"),
    [
        ("CREATE TABLE bad (id BIGINT PRIMARY KEY, x NUMERIC(50,2))", "0A000"),
        ("CREATE TABLE bad (id BIGINT PRIMARY KEY, x NUMERIC(5,7))", "22023"),
        ("CREATE TABLE bad (id BIGINT PRIMARY KEY, x nosuchtype)", "42704"),
    ],
)
def test_bad_column_types_are_refused(tmp_path, ddl: str, sqlstate: str) -> None:
    con = elacsym_sql.connect(str(tmp_path / "d"), indexer=False)
    with pytest.raises(errors.ElacsymError) as exc:
        con.execute(ddl)
    assert exc.value.sqlstate == sqlstate
    con.close()


def test_enum_type_is_durable_and_enforced(tmp_path) -> None:
    con = elacsym_sql.connect(str(tmp_path / "d"), indexer=False)
    con.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s')")
    con.execute("CREATE TABLE people (id BIGINT PRIMARY KEY, m mood, ms mood[])")
    con.execute("INSERT INTO people VALUES (1, 'ok', '{sad,\"it''s\"}')")
    with pytest.raises(errors.ElacsymError) as exc:
        con.execute("INSERT INTO people VALUES (2, 'angry', NULL)")
    assert exc.value.sqlstate == "22P02"
    with pytest.raises(errors.ElacsymError) as exc:
        con.execute("CREATE TYPE mood AS ENUM ('x')")
    assert exc.value.sqlstate == "42710"
    with pytest.raises(errors.ElacsymError) as exc:
        con.execute("DROP TYPE mood")
    assert exc.value.sqlstate == "2BP01" and "people.m" in (exc.value.detail or "")
    con.close()

    con = elacsym_sql.connect(str(tmp_path / "d"), indexer=False)  # a fresh process's view
    assert con.execute("SELECT m, ms, 'sad'::mood < m FROM people").fetchall() == [
        ("ok", ["sad", "it's"], True)
    ]
    labels = con.execute(
        "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
        " WHERE t.typname = 'mood' ORDER BY e.enumsortorder"
    ).fetchall()
    assert labels == [("sad",), ("ok",), ("it's",)]
    con.execute("DROP TABLE people")
    con.execute("DROP TYPE mood")
    with pytest.raises(errors.ElacsymError) as exc:
        con.execute("DROP TYPE mood")
    assert exc.value.sqlstate == "42704"
    con.execute("DROP TYPE IF EXISTS mood")
    con.close()


def test_array_literals_in_sql_text(tmp_path) -> None:
    con = elacsym_sql.connect(str(tmp_path / "d"), indexer=False)
    con.execute("CREATE TABLE arr (id BIGINT PRIMARY KEY, t TEXT[], n INTEGER[], v FLOAT[2])")
    con.execute(
        'INSERT INTO arr VALUES (1, \'{"a b","c,d",NULL,"NULL",""}\', \'{1,NULL}\', \'{1,2}\'),'
        " (2, '{}', '{3,4}', NULL)"
    )
    con.execute("UPDATE arr SET t = '{\"x\\\\y\"}' WHERE id = 2")
    rows = con.execute("SELECT id, t, n[1:2], v FROM arr ORDER BY id").fetchall()
    assert rows[0] == (1, ["a b", "c,d", None, "NULL", ""], [1, None], (1.0, 2.0))
    assert rows[1][1] == ["x\\y"]
    casts = con.execute(
        "SELECT '{1,2}'::INTEGER[], CAST('{\"a,b\",c}' AS TEXT[]), '{x}',"
        " '\\x00ff'::bytea, '{\"1.5\"}'::double precision[]"
    ).fetchone()
    assert casts == ([1, 2], ["a,b", "c"], "{x}", b"\x00\xff", [1.5])
    with pytest.raises(errors.ElacsymError) as exc:
        con.execute("INSERT INTO arr (id, t) VALUES (3, '{\"unterminated}')")
    assert exc.value.sqlstate == "22P02"
    con.close()


def test_jsonb_is_kept_in_postgres_normal_form_json_as_written(tmp_path) -> None:
    con = elacsym_sql.connect(str(tmp_path / "d"), indexer=False)
    con.execute("CREATE TABLE js (id BIGINT PRIMARY KEY, b JSONB, j JSON)")
    text = '{"b":1, "a":[2.50,1e2,-0.0], "aa":{"z":null}, "b":"dup"}'
    con.execute("INSERT INTO js VALUES (1, ?, ?)", [text, text])
    # What PostgreSQL 15 prints for the same text as jsonb; json keeps the text as written.
    assert con.execute("SELECT b, j FROM js").fetchone() == (
        '{"a": [2.50, 100, 0.0], "b": "dup", "aa": {"z": null}}',
        text,
    )
    with pytest.raises(errors.ElacsymError) as exc:
        con.execute("INSERT INTO js VALUES (2, '{\"a\": NaN}', NULL)")
    assert exc.value.sqlstate == "22P02"
    con.close()


def test_bare_numeric_casts_keep_their_digits(tmp_path) -> None:
    # DuckDB's own NUMERIC is DECIMAL(18,3); Postgres's keeps every digit (SQLAlchemy casts
    # its parameters with a bare ::NUMERIC).
    con = elacsym_sql.connect(str(tmp_path / "d"), indexer=False)
    con.execute("CREATE TABLE nums (id BIGINT PRIMARY KEY, x NUMERIC)")
    con.execute("INSERT INTO nums VALUES (1, CAST(? AS NUMERIC))", ["0.000001"])
    row = con.execute("SELECT x, CAST('1.23456' AS numeric), 2.5::decimal FROM nums").fetchone()
    assert row == (Decimal("0.000001"), Decimal("1.23456"), Decimal("2.5"))
    con.close()
