"""Numbers as Postgres answers them: float literals out of range are 22003 (DuckDB reads
Infinity or 0), Postgres's spellings of infinity pass, and a bare NUMERIC column's values
come back with the scale they need. Run against PostgreSQL 15 too with
ELACSYM_CLIENT_TESTS_PG=1 (the expectations are its own)."""

from __future__ import annotations

import decimal
import math

import psycopg
import pytest
from psycopg import errors

from tests.server import clients

target = clients.target


@pytest.fixture
def conn(target):
    with psycopg.connect(target.dsn, autocommit=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS nw (id INT PRIMARY KEY, d FLOAT8, r REAL, "
                  "n NUMERIC)")  # fmt: skip
        yield c


@pytest.mark.parametrize(
    ("sql", "message"),
    [("INSERT INTO nw (id, d) VALUES (1, '1e999')", '"1e999" is out of range for type double'),
     ("INSERT INTO nw (id, d) VALUES (1, '-1e999')", '"-1e999" is out of range for type double'),
     ("INSERT INTO nw (id, d) VALUES (1, '1e-999')", '"1e-999" is out of range for type double'),
     ("INSERT INTO nw (id, r) VALUES (1, '1e39')", '"1e39" is out of range for type real'),
     ("INSERT INTO nw (id, d) VALUES (1, 1e999)", "is out of range for type double precision"),
     ("UPDATE nw SET d = '1e999'", '"1e999" is out of range for type double precision'),
     ("SELECT '1e999'::float8", '"1e999" is out of range for type double precision')],
)  # fmt: skip
def test_float_text_out_of_range_is_22003(conn, sql, message):
    with pytest.raises(errors.NumericValueOutOfRange, match=message):
        conn.execute(sql)
    assert conn.execute("SELECT count(*) FROM nw WHERE id = 1").fetchone() == (0,)


def test_infinity_spellings_and_small_numbers_pass(conn):
    conn.execute("INSERT INTO nw (id, d, r) VALUES (2, 'Infinity', '-inf'), (3, '0e-999', "
                 "'1e-40')")  # fmt: skip
    rows = conn.execute("SELECT d, r FROM nw WHERE id IN (2, 3) ORDER BY id").fetchall()
    assert rows[0] == (math.inf, -math.inf)
    assert rows[1][0] == 0 and rows[1][1] == pytest.approx(1e-40)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_bare_numeric_keeps_the_scale_it_needs(conn, binary):
    values = ["100", "0", "1.5", "-2.5", "0.000000000001", "12345678901234567890.5"]
    conn.execute("DELETE FROM nw WHERE id >= 10")
    for i, v in enumerate(values):
        conn.execute("INSERT INTO nw (id, n) VALUES (%s, %s::numeric)", [10 + i, v])
    cur = conn.cursor(binary=binary)
    got = cur.execute("SELECT n FROM nw WHERE id >= 10 ORDER BY id").fetchall()
    assert [str(n) for (n,) in got] == [str(decimal.Decimal(v)) for v in values]
    assert cur.description[0].type_code == 1700
    typ = conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                       "WHERE attrelid = 'nw'::regclass AND attname = 'n'").fetchone()  # fmt: skip
    assert typ == ("numeric",)


@pytest.mark.parametrize(
    ("sql", "value", "message"),
    [("INSERT INTO nw (id, d) VALUES (1, %s)", "1e999", '"1e999" is out of range for type double'),
     ("INSERT INTO nw (id, r) VALUES (1, %s)", "1e39", '"1e39" is out of range for type real'),
     ("INSERT INTO nw (id, d) VALUES (1, %s::float8)", "-1e999", '"-1e999" is out of range'),
     ("UPDATE nw SET d = %s", "1e999", '"1e999" is out of range for type double precision'),
     ("SELECT CAST(%s AS real)", "1e39", '"1e39" is out of range for type real')],
)  # fmt: skip
def test_text_parameters_out_of_range_are_22003(conn, sql, value, message):
    # psycopg sends a str untyped: Postgres reads it as the column's (or the cast's) type
    with pytest.raises(errors.NumericValueOutOfRange, match=message):
        conn.execute(sql, [value])
    assert conn.execute("SELECT count(*) FROM nw WHERE id = 1").fetchone() == (0,)
    conn.execute("INSERT INTO nw (id, d) VALUES (4, %s) ON CONFLICT (id) DO NOTHING", ["Infinity"])
    assert conn.execute("SELECT d FROM nw WHERE id = 4").fetchone() == (math.inf,)


def test_a_json_path_into_jsonb_is_jsonb(conn):
    conn.execute("CREATE TABLE IF NOT EXISTS nw_docs (id INT PRIMARY KEY, body JSONB, j JSON)")
    conn.execute("INSERT INTO nw_docs VALUES (1, %s, %s) ON CONFLICT (id) DO NOTHING",
                 ['{"k": [1, 2]}', '{"k": 1}'])  # fmt: skip
    cur = conn.execute("SELECT body -> 'k', body -> 'k' -> 0, d.body -> 'k' AS x, j -> 'k', "
                       "body ->> 'k' FROM nw_docs d WHERE id = %s", [1])  # fmt: skip
    assert [c.type_code for c in cur.description] == [
        3802,
        3802,
        3802,
        114,
        25,
    ]  # jsonb, json, text
    assert cur.fetchone()[:4] == ([1, 2], 1, [1, 2], 1)
