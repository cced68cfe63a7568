"""SQL cursors over the wire (issue 8 item 6): psycopg 3 named cursors (text and binary,
itersize, WITH HOLD across COMMIT), psycopg2 named cursors, SQLAlchemy's stream_results
with both drivers, DECLARE BINARY in the simple protocol, and Postgres's errors."""

from __future__ import annotations

import psycopg
import psycopg2
import pytest
import sqlalchemy as sa

N = 1000


@pytest.fixture(scope="module")
def rows_dsn(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("CREATE TABLE cur_t (id BIGINT PRIMARY KEY, x TEXT)")
        con.execute("INSERT INTO cur_t SELECT i, 'r' || i FROM range(%s) AS t(i)", (N,))
    return dsn


@pytest.mark.parametrize("binary", [False, True])
def test_psycopg_named_cursor(rows_dsn: str, binary: bool) -> None:
    with psycopg.connect(rows_dsn) as con:
        with con.cursor(name="named", binary=binary) as cur:
            cur.itersize = 100
            cur.execute("SELECT id, x FROM cur_t WHERE id < %s ORDER BY id", (250,))
            assert [d.name for d in cur.description] == ["id", "x"]
            assert cur.description[0].type_code == 20
            assert cur.fetchone() == (0, "r0")
            assert cur.fetchmany(10) == [(i, f"r{i}") for i in range(1, 11)]
            rest = list(cur)
            assert rest[0] == (11, "r11") and len(rest) == 239
        con.commit()


def test_psycopg_cursor_with_hold_survives_commit(rows_dsn: str) -> None:
    with psycopg.connect(rows_dsn) as con, con.cursor(name="held", withhold=True) as cur:
        cur.execute("SELECT id FROM cur_t ORDER BY id")
        assert cur.fetchone() == (0,)
        con.commit()
        assert [r[0] for r in cur.fetchall()] == list(range(1, N))


def test_psycopg2_named_cursor(rows_dsn: str) -> None:
    con = psycopg2.connect(rows_dsn)
    try:
        cur = con.cursor("p2")
        cur.itersize = 50
        cur.execute("SELECT id FROM cur_t WHERE id >= %s ORDER BY id", (900,))
        assert [r[0] for r in cur] == list(range(900, N))
        cur.close()
        con.commit()
    finally:
        con.close()


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_sqlalchemy_stream_results(wire, rows_dsn: str, driver: str) -> None:
    engine = sa.create_engine(f"postgresql+{driver}://tester@127.0.0.1:{wire[0]}/elacsym")
    try:
        with engine.connect() as conn:
            streamed = conn.execution_options(stream_results=True, max_row_buffer=100)
            result = streamed.execute(sa.text("SELECT id FROM cur_t ORDER BY id"))
            assert [r[0] for r in result] == list(range(N))
    finally:
        engine.dispose()


def test_declare_binary_in_the_simple_protocol(rows_dsn: str) -> None:
    with psycopg.connect(rows_dsn) as con:
        pgconn = con.pgconn
        assert pgconn.exec_(b"BEGIN").status == psycopg.pq.ExecStatus.COMMAND_OK
        declare = pgconn.exec_(b"DECLARE b BINARY CURSOR FOR SELECT id FROM cur_t WHERE id = 7")
        assert declare.command_status == b"DECLARE CURSOR"
        fetched = pgconn.exec_(b"FETCH ALL FROM b")
        assert fetched.command_status == b"FETCH 1"
        assert fetched.fformat(0) == 1 and fetched.get_value(0, 0) == (7).to_bytes(8, "big")
        assert pgconn.exec_(b"MOVE 1 FROM b").command_status == b"MOVE 0"
        assert pgconn.exec_(b"CLOSE b").command_status == b"CLOSE CURSOR"
        assert pgconn.exec_(b"COMMIT").status == psycopg.pq.ExecStatus.COMMAND_OK


def test_errors_over_the_wire(rows_dsn: str) -> None:
    with psycopg.connect(rows_dsn, autocommit=True) as con:
        with pytest.raises(psycopg.errors.NoActiveSqlTransaction):
            con.execute("DECLARE c CURSOR FOR SELECT 1")
        with pytest.raises(psycopg.errors.InvalidCursorName):
            con.execute("FETCH 1 FROM nosuch")
        con.execute("BEGIN")
        con.execute("DECLARE c CURSOR FOR SELECT id FROM cur_t")
        with pytest.raises(psycopg.errors.DuplicateCursor):
            con.execute("DECLARE c CURSOR FOR SELECT 1")
        con.execute("ROLLBACK")
        con.execute("BEGIN")
        con.execute("DECLARE c CURSOR FOR SELECT id FROM cur_t")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            con.execute("FETCH PRIOR FROM c")
        con.execute("ROLLBACK")
