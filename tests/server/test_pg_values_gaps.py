"""Values as Postgres 15 answers them, gaps found by asking it (issue 8): COPY refuses
floats and numerics out of range (22003) as INSERT does, a bare NUMERIC's NULL comes
back NULL, pg_attrdef lists defaults, and OIDs cast to regtype / regclass print names.
Run against PostgreSQL 15 too with ELACSYM_CLIENT_TESTS_PG=1 (the expectations are its
own)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from tests.server import clients

target = clients.target


@pytest.fixture
def conn(target):
    with psycopg.connect(target.dsn, autocommit=True) as c:
        c.execute(
            "CREATE TABLE IF NOT EXISTS gv (id INT PRIMARY KEY, d FLOAT8, r REAL, "
            "n NUMERIC(10,2), x NUMERIC, name TEXT DEFAULT 'x', q INT DEFAULT 3)"
        )
        c.execute("DELETE FROM gv")
        yield c


def _copy(conn: psycopg.Connection, columns: str, line: str) -> None:
    with conn.cursor().copy(f"COPY gv ({columns}) FROM STDIN") as copy:
        copy.write(line + "\n")


@pytest.mark.parametrize(
    ("columns", "line", "message"),
    [("id, d", "1\t1e999", '"1e999" is out of range for type double precision'),
     ("id, d", "1\t-1e999", '"-1e999" is out of range for type double precision'),
     ("id, r", "1\t1e39", '"1e39" is out of range for type real'),
     ("id, d", "1\t1" + "0" * 400, "is out of range for type double precision")],
)  # fmt: skip
def test_copy_float_out_of_range_is_22003(conn, columns, line, message):
    with pytest.raises(errors.NumericValueOutOfRange, match=message):
        _copy(conn, columns, line)
    assert conn.execute("SELECT count(*) FROM gv").fetchone() == (0,)


def test_copy_float_in_range_and_infinity_spellings_pass(conn):
    _copy(conn, "id, d, r", "1\t1e300\t-Infinity")
    assert conn.execute("SELECT d, r FROM gv").fetchone() == (1e300, float("-inf"))


@pytest.mark.parametrize(
    "how",
    ["copy", "insert", "parameter"],
)
def test_numeric_overflow_is_22003(conn, how):
    with pytest.raises(errors.NumericValueOutOfRange, match="numeric field overflow"):
        if how == "copy":
            _copy(conn, "id, n", "1\t123456789")
        elif how == "insert":
            conn.execute("INSERT INTO gv (id, n) VALUES (1, '123456789')")
        else:
            conn.execute("INSERT INTO gv (id, n) VALUES (1, %s)", ["1e999"])
    assert conn.execute("SELECT count(*) FROM gv").fetchone() == (0,)


def test_numeric_bad_text_is_still_22p02(conn):
    with pytest.raises(errors.InvalidTextRepresentation):
        conn.execute("INSERT INTO gv (id, n) VALUES (1, 'abc')")


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_bare_numeric_null_is_null(conn, binary):
    conn.execute("INSERT INTO gv (id, x, n) VALUES (1, NULL, NULL), (2, 1.5, 2.25)")
    rows = conn.cursor(binary=binary).execute("SELECT x, n FROM gv ORDER BY id").fetchall()
    assert [tuple(map(lambda v: None if v is None else str(v), r)) for r in rows] == [
        (None, None),
        ("1.5", "2.25"),
    ]


def test_pg_attrdef_lists_defaults(conn):
    rows = conn.execute("SELECT * FROM pg_attrdef WHERE adrelid = 'gv'::regclass").fetchall()
    assert len(rows) == 2 and len({r[0] for r in rows}) == 2
    exprs = conn.execute(
        "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d "
        "JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
        "WHERE d.adrelid = 'gv'::regclass ORDER BY d.adnum"
    ).fetchall()
    assert [name for name, _ in exprs] == ["name", "q"]
    assert exprs[1][1] == "3"


def test_oids_cast_to_regtype_and_regclass_print_names(conn):
    row = conn.execute(
        "SELECT 23::regtype, 1043::oid::regtype, 'int4'::regtype, 'gv'::regclass, "
        "'gv'::regclass::text, 'integer'::regtype"
    ).fetchone()
    assert row == ("integer", "character varying", "integer", "gv", "gv", "integer")
    # ... and stay OIDs where compared with OIDs
    found = conn.execute("SELECT relname FROM pg_class WHERE oid = 'gv'::regclass").fetchone()
    assert found == ("gv",)
    typ = conn.execute(
        "SELECT atttypid::regtype FROM pg_attribute WHERE attrelid = 'gv'::regclass "
        "AND attname = 'id'"
    ).fetchone()
    assert typ == ("integer",)


def test_col_description_by_regclass(conn):
    conn.execute("COMMENT ON COLUMN gv.name IS 'the name'")
    row = conn.execute(
        "SELECT col_description('gv'::regclass, 6), col_description('gv'::regclass::oid, 6), "
        "col_description('public.gv'::regclass, 6)"
    ).fetchone()
    assert row == ("the name",) * 3


def test_json_arrow_result_names(conn):
    conn.execute("CREATE TABLE IF NOT EXISTS gj (id INT PRIMARY KEY, j JSONB)")
    conn.execute("""INSERT INTO gj VALUES (1, '{"a": "x"}') ON CONFLICT DO NOTHING""")
    cur = conn.execute("SELECT j->>'a', j -> 'a', j->>'a' AS a, (j->>'a') FROM gj")
    assert [d.name for d in cur.description] == ["?column?", "?column?", "a", "?column?"]
    assert cur.fetchone() == ("x", "x", "x", "x")


def test_float_is_double_precision_real_and_small_precisions_are_real(conn):
    conn.execute(
        "CREATE TABLE IF NOT EXISTS gf (id INT PRIMARY KEY, a FLOAT, b REAL, c FLOAT(53), "
        "d FLOAT(10), e FLOAT4, f FLOAT8, g FLOAT(25))"
    )
    conn.execute("DELETE FROM gf")
    types = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'gf'::regclass AND attnum > 1 ORDER BY attnum"
    ).fetchall()
    double, real = "double precision", "real"
    assert types == [("a", double), ("b", real), ("c", double), ("d", real), ("e", real),
                     ("f", double), ("g", double)]  # fmt: skip
    conn.execute("INSERT INTO gf VALUES (1, %s, %s, %s, %s, %s, %s, %s)", [15.7563827] * 7)
    row = conn.execute("SELECT a, c, f, g, b FROM gf").fetchone()
    assert row[:4] == (15.7563827,) * 4  # all of a double's digits
    assert row[4] != 15.7563827 and abs(row[4] - 15.7563827) < 1e-5  # a real's


def test_a_views_definition_is_shown(conn):
    conn.execute("DROP VIEW IF EXISTS gv_cheap")
    conn.execute("CREATE VIEW gv_cheap AS SELECT id, name FROM gv WHERE q < 10")
    (by_function,) = conn.execute("SELECT pg_get_viewdef('gv_cheap'::regclass, true)").fetchone()
    (listed,) = conn.execute(
        "SELECT definition FROM pg_views WHERE viewname = 'gv_cheap'"
    ).fetchone()
    for text in (by_function, listed):  # Postgres deparses it; DuckDB keeps its own spelling
        assert text.lstrip().startswith("SELECT") and "FROM gv" in text and "WHERE" in text
