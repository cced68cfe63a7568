"""The extended protocol message by message, over a plain socket: what a portal's Describe
answers with and without an Execute behind it, and that Describe alone runs nothing."""

from __future__ import annotations

import pytest

from .wire_client import SYNC, Client, bind, describe_portal, execute, parse, query


@pytest.fixture
def client(wire):
    c = Client(wire[0])
    yield c
    c.close()


def test_describe_of_a_portal_alone_runs_nothing(client, wire):
    con = wire[1]
    con.execute("CREATE TABLE raw_describe (id BIGINT PRIMARY KEY, v TEXT)")
    try:
        insert = parse("INSERT INTO raw_describe VALUES ($1, $2)")
        assert client.send(insert, bind(["1", "a"]), describe_portal(), SYNC) == [
            b"1", b"2", b"n", b"Z"
        ]  # fmt: skip
        select = parse("SELECT id, v FROM raw_describe")
        assert client.send(select, bind([]), describe_portal(), SYNC) == [b"1", b"2", b"T", b"Z"]
        assert con.execute("SELECT count(*) FROM raw_describe").fetchone() == (0,)
        # The same with Execute behind the Describe: the write happens once.
        assert client.send(insert, bind(["1", "a"]), describe_portal(), execute(), SYNC) == [
            b"1", b"2", b"n", b"C", b"Z"
        ]  # fmt: skip
        assert con.execute("SELECT id, v FROM raw_describe").fetchall() == [(1, "a")]
    finally:
        con.execute("DROP TABLE raw_describe")


def test_describe_then_execute_sends_the_description_first(client):
    got = client.send(parse("SELECT id, title FROM docs ORDER BY id"), bind([]),
                      describe_portal(), execute(), SYNC)  # fmt: skip
    assert got == [b"1", b"2", b"T", b"D", b"D", b"D", b"C", b"Z"]


def test_named_portal_described_between_limited_executes(client):
    client.sock.sendall(parse("SELECT id FROM docs ORDER BY id", "s1"))
    got = client.send(bind([], "p1", "s1"), execute("p1", 1), describe_portal("p1"),
                      execute("p1", 1), execute("p1", 0), SYNC)  # fmt: skip
    # DataRow, PortalSuspended; RowDescription; DataRow, PortalSuspended; DataRow, Complete
    assert got == [b"1", b"2", b"D", b"s", b"T", b"D", b"s", b"D", b"C", b"Z"]


def test_describe_of_a_failing_statement_reports_the_error_once(client):
    got = client.send(parse("SELECT nope FROM docs"), bind([]), describe_portal(), execute(),
                      SYNC)  # fmt: skip
    assert got == [b"1", b"2", b"E", b"Z"]
    assert client.send(parse("SELECT 1"), bind([]), describe_portal(), execute(), SYNC) == [
        b"1", b"2", b"T", b"D", b"C", b"Z"
    ]  # fmt: skip


def test_simple_query_sends_no_nodata(client):
    # As PostgreSQL 15: commands answer CommandComplete alone, queries RowDescription first.
    got = client.send(query("BEGIN; SELECT 1; INSERT INTO docs SELECT * FROM docs LIMIT 0; COMMIT"))
    assert got == [b"C", b"T", b"D", b"C", b"C", b"C", b"Z"]
