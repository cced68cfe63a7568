"""SQL cursors (issue 8 item 6), embedded: DECLARE / FETCH / MOVE / CLOSE, WITH HOLD across
COMMIT, the errors Postgres gives, and rows read as fetched rather than all at once."""

from __future__ import annotations

import pytest

import elacsym_sql
from elacsym_sql import errors

ROWS = 10_000


@pytest.fixture
def con(tmp_path):
    con = elacsym_sql.connect(str(tmp_path / "d"), indexer=False)
    con.execute("CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT)")
    con.executemany("INSERT INTO items VALUES (?, ?)", [(i, f"item {i}") for i in range(ROWS)])
    yield con
    con.close()


def _state(con: elacsym_sql.Connection, sql: str) -> str:
    with pytest.raises(errors.ElacsymError) as exc:
        con.execute(sql)
    return exc.value.sqlstate


def test_fetch_move_close_in_a_block(con) -> None:
    con.execute("BEGIN")
    con.execute("DECLARE c CURSOR FOR SELECT id FROM items WHERE id < $1 ORDER BY id", [100])
    assert con.execute("FETCH 3 FROM c").fetchall() == [(0,), (1,), (2,)]
    assert con.execute("FETCH c").fetchall() == [(3,)]
    assert con.execute("FETCH NEXT IN c").fetchall() == [(4,)]
    assert con.execute("MOVE FORWARD 10 FROM c").rowcount == 10
    assert con.execute("FETCH FORWARD 2 FROM c").fetchall() == [(15,), (16,)]
    assert con.execute("FETCH ABSOLUTE 20 FROM c").fetchall() == [(19,)]
    assert len(con.execute("FETCH ALL FROM c").fetchall()) == 80
    assert con.execute("FETCH c").fetchall() == []  # at the end: empty, not an error
    assert con.execute("MOVE 5 IN c").rowcount == 0
    con.execute("CLOSE c")
    assert _state(con, "FETCH c") == "34000"  # and the failed block needs a ROLLBACK
    assert _state(con, "SELECT 1") == "25P02"
    con.execute("ROLLBACK")


def test_errors_as_postgres(con) -> None:
    assert _state(con, "DECLARE c CURSOR FOR SELECT 1") == "25P01"  # outside a block
    assert _state(con, "FETCH nosuch") == "34000"
    assert _state(con, "CLOSE nosuch") == "34000"
    con.execute("BEGIN")
    con.execute("DECLARE c NO SCROLL CURSOR FOR SELECT id FROM items")
    assert _state(con, "DECLARE c CURSOR FOR SELECT 2") == "42P03"
    con.execute("ROLLBACK")
    con.execute("BEGIN")
    con.execute("DECLARE c CURSOR FOR SELECT id FROM items")
    assert _state(con, "FETCH BACKWARD 1 FROM c") == "55000"
    con.execute("ROLLBACK")
    con.execute("BEGIN")
    assert _state(con, "DECLARE s SCROLL CURSOR FOR SELECT 1") == "0A000"
    con.execute("ROLLBACK")


def test_cursors_end_with_their_block_unless_held(con) -> None:
    con.execute("BEGIN")
    con.execute("DECLARE plain CURSOR FOR SELECT id FROM items ORDER BY id")
    con.execute("DECLARE held CURSOR WITH HOLD FOR SELECT id FROM items WHERE id < 5 ORDER BY id")
    assert con.execute("FETCH 2 FROM held").fetchall() == [(0,), (1,)]
    con.execute("COMMIT")
    assert _state(con, "FETCH plain") == "34000"
    assert con.execute("FETCH ALL FROM held").fetchall() == [(2,), (3,), (4,)]
    con.execute("CLOSE held")

    con.execute("BEGIN")  # ROLLBACK drops the held cursors its block declared
    con.execute("DECLARE gone CURSOR WITH HOLD FOR SELECT 1")
    con.execute("ROLLBACK")
    assert _state(con, "FETCH gone") == "34000"

    # Declared outside a block (autocommit), a held cursor lives until CLOSE.
    con.execute("DECLARE auto CURSOR WITH HOLD FOR SELECT id FROM items ORDER BY id")
    con.execute("BEGIN")
    con.execute("ROLLBACK")
    assert con.execute("FETCH 1 FROM auto").fetchall() == [(0,)]
    con.execute("CLOSE ALL")
    assert _state(con, "FETCH auto") == "34000"


def test_rollback_to_a_savepoint_closes_the_cursors_declared_since(con) -> None:
    con.execute("BEGIN")
    con.execute("DECLARE before CURSOR FOR SELECT 1")
    con.execute("SAVEPOINT s")
    con.execute("DECLARE after CURSOR FOR SELECT 2")
    con.execute("ROLLBACK TO SAVEPOINT s")
    assert con.execute("FETCH before").fetchall() == [(1,)]
    assert _state(con, "FETCH after") == "34000"
    con.execute("ROLLBACK")


def test_a_cursor_sees_its_blocks_snapshot(con) -> None:
    con.execute("BEGIN")
    con.execute("INSERT INTO items VALUES (-1, 'staged')")
    con.execute("DECLARE c CURSOR WITH HOLD FOR SELECT label FROM items WHERE id < 0")
    con.execute("COMMIT")  # its rows are kept in memory now: the snapshot is gone
    assert con.execute("FETCH ALL FROM c").fetchall() == [("staged",)]


def test_rows_stream_rather_than_materialize(con) -> None:
    con.execute("BEGIN")
    con.execute("DECLARE big CURSOR FOR SELECT id, label FROM items")
    assert len(con.execute("FETCH 10 FROM big").fetchall()) == 10
    cursor = con.session.cursors.get("big")
    # Only DuckDB's first batch (8,192 rows) was read; the rest is still pending in DuckDB.
    assert cursor.duck is not None
    assert sum(b.num_rows for b in cursor._buffer) < ROWS - 10
    assert len(con.execute("FETCH ALL FROM big").fetchall()) == ROWS - 10
    assert cursor.duck is None  # every row read: its connection is closed
    con.execute("COMMIT")
