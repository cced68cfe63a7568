"""CREATE TABLE ... AS for namespaces (a keyless table of the query's columns, filled in one
write, tag `SELECT n`), and INSERT ... SELECT reading a table written just before."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.helpers import connection, rows


@pytest.fixture(params=["local"])
def backend(request):
    return request.param


@pytest.fixture
def con(make_settings):
    with connection(make_settings) as c:
        c.execute("CREATE TABLE src (id INTEGER PRIMARY KEY, name TEXT, price NUMERIC(8, 2))")
        c.execute("INSERT INTO src VALUES (1, 'a', 1.5), (2, 'b', 2.5)")
        yield c


def test_create_table_as_makes_and_fills_a_namespace(make_settings, con):
    cur = con.execute("CREATE TABLE dst AS SELECT id, name, price * 2 AS p2 FROM src WHERE id > 0")
    assert cur.rowcount == 2
    assert rows(con, "SELECT * FROM dst ORDER BY id") == [
        (1, "a", Decimal("3.00")),
        (2, "b", Decimal("5.00")),
    ]
    con.execute("CREATE TABLE named (x, y) AS SELECT id, name FROM src WITH NO DATA")
    assert rows(
        con,
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'named' ORDER BY ordinal_position",
    ) == [("x", "integer"), ("y", "text")]
    assert rows(con, "SELECT count(*) FROM named") == [(0,)]
    assert con.execute("CREATE TABLE IF NOT EXISTS dst AS SELECT 1 AS z").rowcount == 0
    with connection(make_settings) as other:  # a namespace: durable, seen by others
        assert rows(other, "SELECT count(*) FROM dst") == [(2,)]


def test_insert_select_reads_a_table_written_just_before(con):
    con.execute("CREATE TABLE copy (id INTEGER, name TEXT)")
    con.execute("INSERT INTO src VALUES (3, 'c', 1)")
    assert con.execute("INSERT INTO copy SELECT id, name FROM src").rowcount == 3
    assert rows(con, "SELECT count(*) FROM copy") == [(3,)]
