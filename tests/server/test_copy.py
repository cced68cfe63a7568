"""COPY FROM STDIN and COPY TO STDOUT with psql's \\copy, psycopg's cursor.copy and
asyncpg's copy_records_to_table: one atomic write, errors with SQLSTATE, nothing written
on error."""

from __future__ import annotations

import asyncio
import select
import subprocess

import asyncpg
import psycopg
import pytest

from .test_psql import psql

HAS_PSQL = subprocess.run(["which", "psql"], capture_output=True).returncode == 0


@pytest.fixture
def table(wire, request):
    """A fresh namespace per test: (name, port, embedded connection)."""
    port, con = wire
    name = f"copy_{request.node.name.split('[')[0][5:40]}".lower()
    con.execute(
        f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, title TEXT, price DOUBLE, "
        "tags TEXT[], ok BOOLEAN, embedding FLOAT[3])"
    )
    yield name, port, con
    con.execute(f"DROP TABLE {name}")


def rows_of(con, name):
    return con.execute(
        f"SELECT id, title, price, tags, ok, embedding FROM {name} ORDER BY id"
    ).fetchall()


def test_psycopg_write_row_and_read_back(table, dsn):
    name, _, con = table
    rows = [
        (1, "tab\there, new\nline", 1.5, ["a b", None, 'q"x'], True, [1.0, 0.0, 0.0]),
        (2, None, None, None, None, None),
        (3, "back\\slash", -2.25, [], False, [0.5, 0.5, 0.0]),
    ]
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY {name} (id, title, price, tags, ok, embedding) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        assert cur.rowcount == 3
        got = rows_of(con, name)
        assert [r[:3] for r in got] == [r[:3] for r in rows]
        assert got[0][3] == ["a b", None, 'q"x'] and got[2][3] == []
        assert got[0][5] == (1.0, 0.0, 0.0) and got[1][4] is None
        # and back out, text format, one row per message
        with cur.copy(f"COPY (SELECT id, title, price FROM {name} ORDER BY id) TO STDOUT") as copy:
            copy.set_types(["int8", "text", "float8"])
            back = list(copy.rows())
        assert back == [r[:3] for r in rows]
        with cur.copy(f"COPY {name} (id, tags) TO STDOUT (FORMAT binary)") as copy:
            copy.set_types(["int8", "text[]"])
            back = sorted(copy.rows())
        assert back[0] == (1, ["a b", None, 'q"x']) and back[1] == (2, None)


def test_psycopg_csv_with_header_and_options(table, dsn):
    name, _, con = table
    data = 'id;title;price\n1;"semi;colon";2.5\n2;"quote ""x""";NULL\n3;"";NULL\n'
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        copy_sql = (
            f"COPY {name} (id, title, price) FROM STDIN "
            "WITH (FORMAT csv, HEADER, DELIMITER ';', NULL 'NULL')"
        )
        with cur.copy(copy_sql) as copy:
            copy.write(data)
        got = con.execute(f"SELECT id, title, price FROM {name} ORDER BY id").fetchall()
        assert got == [(1, "semi;colon", 2.5), (2, 'quote "x"', None), (3, "", None)]
        out = bytearray()
        with cur.copy(f"COPY {name} (id, title, price) TO STDOUT WITH (FORMAT csv, HEADER)") as c:
            for chunk in c:
                out += chunk
        assert out.decode().splitlines() == [
            "id,title,price",
            "1,semi;colon,2.5",
            '2,"quote ""x""",',
            '3,"",',
        ]


def test_bad_value_writes_nothing_and_session_goes_on(table, dsn):
    name, _, con = table
    cases = [
        (f"COPY {name} (id, title) FROM STDIN", "1\tfine\nnot-a-number\tbad\n", "22P02"),
        (f"COPY {name} (id, nope) FROM STDIN", "1\tx\n", "42703"),
        ("COPY no_such_namespace FROM STDIN", "1\n", "42P01"),
        (f"COPY {name} (id, title) FROM STDIN", "1\tone\textra\n", "22P04"),
        (f"COPY {name} FROM STDIN (FORMAT xml)", "", "42601"),
    ]
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        for sql, data, sqlstate in cases:
            with pytest.raises(psycopg.Error) as err, cur.copy(sql) as copy:
                copy.write(data)
            assert err.value.sqlstate == sqlstate, sql
            assert rows_of(con, name) == []
        assert cur.execute("SELECT 41 + 1").fetchone() == (42,)


def test_copy_fail_from_client_writes_nothing(table, dsn):
    name, _, con = table
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        with pytest.raises(ZeroDivisionError), cur.copy(f"COPY {name} (id) FROM STDIN") as copy:
            copy.write_row((1,))
            raise ZeroDivisionError  # psycopg sends CopyFail
        assert cur.execute("SELECT 1").fetchone() == (1,)
    assert rows_of(con, name) == []


def test_copy_inside_transaction_block(table, dsn):
    name, _, con = table
    with psycopg.connect(dsn) as conn:  # autocommit off: BEGIN ... COMMIT around it
        with conn.cursor() as cur, cur.copy(f"COPY {name} (id, title) FROM STDIN") as copy:
            copy.write_row((7, "in a block"))
        conn.commit()
    assert con.execute(f"SELECT title FROM {name}").fetchall() == [("in a block",)]


def test_asyncpg_copy_records_to_table(table):
    name, port, con = table

    async def run() -> str:
        conn = await asyncpg.connect(host="127.0.0.1", port=port, user="t", database="e")
        try:
            status = await conn.copy_records_to_table(
                name,
                records=[
                    (i, f"t{i}", i / 2, [f"x{i}", None], i % 2 == 0, [i, 0.5, -1])
                    for i in range(1, 501)
                ],
                columns=["id", "title", "price", "tags", "ok", "embedding"],
            )
            assert await conn.fetchval(f"SELECT count(*) FROM {name}") == 500
            return status
        finally:
            await conn.close()

    assert asyncio.run(run()) == "COPY 500"
    got = rows_of(con, name)
    assert got[0] == (1, "t1", 0.5, ["x1", None], False, (1.0, 0.5, -1.0))
    assert got[-1][0] == 500


@pytest.mark.skipif(not HAS_PSQL, reason="no psql")
def test_psql_backslash_copy_both_ways(table, tmp_path):
    name, port, con = table
    src = tmp_path / "in.csv"
    src.write_text('id,title,tags,embedding\n1,"a, b","{x,""y z""}","{1,0,0}"\n2,,{},\n')
    out = psql(port, "-c", f"\\copy {name} (id, title, tags, embedding) from '{src}' csv header")
    assert out.returncode == 0, out.stderr
    assert "COPY 2" in out.stdout
    got = con.execute(f"SELECT id, title, tags, embedding FROM {name} ORDER BY id").fetchall()
    assert got == [(1, "a, b", ["x", "y z"], (1.0, 0.0, 0.0)), (2, None, [], None)]
    dst = tmp_path / "out.txt"
    out = psql(port, "-c", f"\\copy (SELECT id, title, tags FROM {name} ORDER BY id) to '{dst}'")
    assert out.returncode == 0, out.stderr
    assert dst.read_text() == '1\ta, b\t{x,"y z"}\n2\t\\N\t{}\n'
    text_in = tmp_path / "in.txt"
    text_in.write_text("3\tline\\nbreak\t\\N\n4\tdelim\\there\t{q}\n")
    out = psql(port, "-c", f"\\copy {name} (id, title, tags) from '{text_in}'")
    assert out.returncode == 0, out.stderr
    got = con.execute(f"SELECT title, tags FROM {name} WHERE id > 2 ORDER BY id").fetchall()
    assert got == [("line\nbreak", None), ("delim\there", ["q"])]


def test_copy_out_through_the_extended_protocol(table, dsn):
    name, _, con = table
    con.execute(f"INSERT INTO {name} (id, title) VALUES (1, 'one'), (2, NULL)")
    with psycopg.connect(dsn, autocommit=True) as conn:
        pg = conn.pgconn  # libpq itself: Parse/Bind/Describe/Execute/Sync
        pg.send_query_params(f"COPY {name} (id, title) TO STDOUT".encode(), None)
        while pg.flush():
            pass
        _wait(pg)
        assert pg.get_result().status == psycopg.pq.ExecStatus.COPY_OUT
        chunks = []
        while True:
            n, data = pg.get_copy_data(1)
            if n == 0:
                select.select([pg.socket], [], [], 5)
                pg.consume_input()
                continue
            if n < 0:
                break
            chunks.append(bytes(data))
        assert sorted(chunks) == [b"1\tone\n", b"2\t\\N\n"]
        _wait(pg)
        assert pg.get_result().command_status == b"COPY 2"
        assert pg.get_result() is None
        assert conn.execute("SELECT 1").fetchone() == (1,)


def _wait(pg) -> None:
    while True:
        pg.consume_input()
        if not pg.is_busy():
            return
        select.select([pg.socket], [], [], 5)
