"""psycopg 3 in text and binary modes: types both ways, NULLs, prepared statements,
executemany, errors with SQLSTATE, and the same rows as the embedded connection."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Json, Jsonb

VALUES = [
    ("bool", True),
    ("int2", 7),
    ("int4", -123456),
    ("int8", 2**40),
    ("float4", 1.5),
    ("float8", 1.25e-7),
    ("numeric", Decimal("12.340")),
    ("text", "héllo, 'world'"),
    ("varchar", "x"),
    ("bytea", b"\x00\x01\xff"),
    ("date", dt.date(2024, 2, 29)),
    ("time", dt.time(12, 34, 56, 500000)),
    ("timestamp", dt.datetime(2024, 1, 2, 3, 4, 5, 6)),
    ("timestamptz", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
    ("interval", dt.timedelta(days=1, seconds=5)),
    ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("int8[]", [1, None, 3]),
    ("float4[]", [0.5, -1.5]),
    ("text[]", ["a b", None, 'q"uote', ""]),
    ("bool[]", [True, False]),
]


@pytest.fixture(params=[False, True], ids=["text", "binary"])
def cur(request, dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn.cursor(binary=request.param)


@pytest.mark.parametrize(("pg_type", "value"), VALUES, ids=[v[0] for v in VALUES])
def test_types_round_trip(cur, pg_type, value):
    (back,) = cur.execute(f"SELECT %s::{pg_type}", [value]).fetchone()
    if pg_type == "numeric":
        assert back == value  # scale follows DuckDB's DECIMAL(18,3)
    elif pg_type == "float8":
        assert back == pytest.approx(value)
    else:
        assert back == value


def test_json_and_jsonb(cur):
    row = cur.execute("SELECT %s::json, %s::jsonb", [Json({"a": [1, 2]}), Jsonb({"b": None})])
    assert row.fetchone() == ({"a": [1, 2]}, {"b": None})


def test_nulls_both_ways(cur):
    row = cur.execute("SELECT %s::int, %s::text, %s, NULL::date", [None, None, None]).fetchone()
    assert row == (None, None, None, None)
    assert cur.execute("SELECT price FROM docs WHERE id = 2").fetchone() == (None,)


def test_strings_that_look_like_dates_stay_strings(cur):
    assert cur.execute("SELECT %s, %s", ["2024-01-01", "12:00"]).fetchone() == (
        "2024-01-01",
        "12:00",
    )


def test_beginning_is_not_begin(cur):
    assert cur.execute("SELECT 'beginning' AS w").fetchone() == ("beginning",)
    assert cur.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_vector_search_with_a_python_list(cur):
    rows = cur.execute(
        "SELECT id FROM vector_search('docs', %s::float4[], 2)", [[1.0, 0.1, 0.0]]
    ).fetchall()
    assert [r[0] for r in rows] == [1, 3]


def test_text_search_parameter(cur):
    rows = cur.execute("SELECT id FROM text_search('docs', %s, 5) ORDER BY id", ["search"])
    assert [r[0] for r in rows.fetchall()] == [2, 3]


def test_prepared_after_five_runs_and_explicit_prepare(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in range(8):  # psycopg prepares server-side from the 6th run on
            assert conn.execute("SELECT %s::int + 1", [i]).fetchone() == (i + 1,)
        assert conn.execute(
            "SELECT title FROM docs WHERE id = %s", [1], prepare=True
        ).fetchone() == ("object storage engines",)


def test_executemany_writes_every_row(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE em (id BIGINT PRIMARY KEY, v TEXT)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO em VALUES (%s, %s)", [(i, f"v{i}") for i in range(20)])
        assert conn.execute("SELECT count(*), max(v) FROM em").fetchone() == (20, "v9")
        conn.execute("DROP TABLE em")


def test_error_has_sqlstate_and_session_stays_usable(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedTable) as info:
            conn.execute("SELECT * FROM no_such_table")
        assert info.value.sqlstate == "42P01"
        with pytest.raises(psycopg.Error) as info:
            conn.execute("INSERT INTO docs VALUES (9, 'x', 1.0, [1.0, 2.0])")  # wrong length
        assert info.value.sqlstate.startswith("22")
        assert conn.execute("SELECT count(*) FROM docs").fetchone() == (3,)


def test_same_rows_over_the_wire_as_embedded(wire, dsn):
    _, con = wire
    queries = [
        "SELECT * FROM docs ORDER BY id",
        "SELECT id, _distance FROM vector_search('docs', [1.0, 0.0, 0.0], 3) ORDER BY id",
        "SELECT id, _score FROM text_search('docs', 'storage search', 3) ORDER BY id",
        "SELECT count(*), sum(price), min(title) FROM docs",
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for binary in (False, True):
            for q in queries:
                embedded = [tuple(r) for r in con.execute(q).fetchall()]
                wire_rows = conn.cursor(binary=binary).execute(q).fetchall()
                assert len(wire_rows) == len(embedded)
                for got, want in zip(wire_rows, embedded, strict=True):
                    for a, b in zip(got, want, strict=True):
                        _same(a, b)


def _same(a: object, b: object) -> None:
    """Equal values; floats to float4 precision (text mode prints float4 in shortest form)."""
    if isinstance(b, tuple | list):
        assert isinstance(a, list)
        assert a == pytest.approx(list(b), rel=1e-6)
    elif isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-6)
    else:
        assert a == b
