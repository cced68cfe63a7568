"""Upsert, patch and delete semantics, with rows spread over WAL, segments and compaction."""

from __future__ import annotations

import pyarrow as pa
import pytest

import elacsym_sql
from tests.helpers import DOCS, compact, connection, fold, rows

VEC = [0.1, 0.2, 0.3, 0.4]


@pytest.fixture
def con(make_settings):
    with connection(make_settings) as c:
        c.execute(DOCS)
        yield c


def test_insert_then_select_returns_the_row(con):
    con.execute("INSERT INTO docs VALUES (1, 'a', 'b', ['x'], 1.5, [0.1, 0.2, 0.3, 0.4])")
    got = rows(con, "SELECT id, title, body, tags, price FROM docs")
    assert got == [(1, "a", "b", ["x"], 1.5)]
    vec = rows(con, "SELECT embedding FROM docs")[0][0]
    assert vec == pytest.approx(VEC)


def test_insert_is_a_whole_row_upsert(con):
    con.execute("INSERT INTO docs VALUES (1, 'a', 'b', ['x'], 1.5, ?)", [VEC])
    con.execute("INSERT INTO docs (id, title) VALUES (1, 'replaced')")
    assert rows(con, "SELECT id, title, body, price, embedding FROM docs") == [
        (1, "replaced", None, None, None)
    ]


@pytest.mark.parametrize("where", ["wal", "segment", "compacted"])
def test_same_key_written_many_times_keeps_the_last(con, where):
    for i in range(5):
        con.execute("INSERT INTO docs (id, title, price) VALUES (7, ?, ?)", [f"v{i}", float(i)])
        if where != "wal":
            fold(con)
    if where == "compacted":
        compact(con)
    assert rows(con, "SELECT id, title, price FROM docs") == [(7, "v4", 4.0)]
    # A fresh reader of the same storage agrees.
    with connection(lambda **kw: con.database.settings) as other:
        assert rows(other, "SELECT id, title, price FROM docs") == [(7, "v4", 4.0)]


def test_on_conflict_do_nothing_inserts_only_absent_keys(con):
    con.execute("INSERT INTO docs (id, title) VALUES (1, 'old')")
    fold(con)
    n = con.execute(
        "INSERT INTO docs (id, title) VALUES (1, 'new'), (2, 'new') ON CONFLICT (id) DO NOTHING"
    ).rowcount
    assert n == 1
    assert rows(con, "SELECT id, title FROM docs ORDER BY id") == [(1, "old"), (2, "new")]


def test_on_conflict_do_update_patches_listed_columns(con):
    con.execute("INSERT INTO docs (id, title, body, price) VALUES (1, 't', 'b', 1.0)")
    con.execute(
        "INSERT INTO docs (id, title, price) VALUES (1, 'ignored', 9.0), (2, 'fresh', 2.0) "
        "ON CONFLICT (id) DO UPDATE SET price = EXCLUDED.price + docs.price"
    )
    assert rows(con, "SELECT id, title, body, price FROM docs ORDER BY id") == [
        (1, "t", "b", 10.0),
        (2, "fresh", None, 2.0),
    ]


def test_on_conflict_do_update_where_skips_rows(con):
    con.execute("INSERT INTO docs (id, price) VALUES (1, 1.0), (2, 5.0)")
    con.execute(
        "INSERT INTO docs (id, price) VALUES (1, 0.0), (2, 0.0) "
        "ON CONFLICT (id) DO UPDATE SET price = EXCLUDED.price WHERE docs.price > 2"
    )
    assert rows(con, "SELECT id, price FROM docs ORDER BY id") == [(1, 1.0), (2, 0.0)]


def test_on_conflict_on_another_column_is_refused(con):
    with pytest.raises(Exception) as info:
        con.execute("INSERT INTO docs (id, title) VALUES (1, 'a') ON CONFLICT (title) DO NOTHING")
    assert info.value.sqlstate == "42P16"


def test_update_patches_matching_rows_in_wal_and_segments(con):
    con.executemany(
        "INSERT INTO docs (id, title, price) VALUES (?, ?, ?)",
        [(i, f"t{i}", float(i)) for i in range(10)],
    )
    fold(con)
    con.execute("INSERT INTO docs (id, title, price) VALUES (10, 't10', 10.0)")
    n = con.execute(
        "UPDATE docs SET price = price * 10, title = upper(title) WHERE id % 2 = 0"
    ).rowcount
    assert n == 6
    got = dict(rows(con, "SELECT id, price FROM docs"))
    assert got == {i: float(i * 10 if i % 2 == 0 else i) for i in range(11)}
    assert rows(con, "SELECT title FROM docs WHERE id = 4") == [("T4",)]


def test_update_of_vector_and_list_columns(con):
    con.execute("INSERT INTO docs (id, tags, embedding) VALUES (1, ['a'], ?)", [VEC])
    con.execute(
        "UPDATE docs SET tags = list_append(tags, 'b'), embedding = [1, 0, 0, 0] WHERE id = 1"
    )
    tags, vec = rows(con, "SELECT tags, embedding FROM docs")[0]
    assert tags == ["a", "b"]
    assert list(vec) == [1.0, 0.0, 0.0, 0.0]


def test_delete_by_any_filter_across_wal_and_segments(con):
    con.executemany(
        "INSERT INTO docs (id, price) VALUES (?, ?)", [(i, float(i)) for i in range(100)]
    )
    fold(con)
    con.executemany(
        "INSERT INTO docs (id, price) VALUES (?, ?)", [(i, float(i)) for i in range(100, 150)]
    )
    assert con.execute("DELETE FROM docs WHERE price >= 90 AND price < 110").rowcount == 20
    assert rows(con, "SELECT count(*) FROM docs") == [(130,)]
    fold(con)
    compact(con)
    assert rows(con, "SELECT count(*), min(id), max(id) FROM docs WHERE id BETWEEN 85 AND 115") == [
        (11, 85, 115)
    ]


def test_delete_then_reinsert_the_same_key(con):
    con.execute("INSERT INTO docs (id, title) VALUES (1, 'first')")
    fold(con)
    con.execute("DELETE FROM docs WHERE id = 1")
    assert rows(con, "SELECT count(*) FROM docs") == [(0,)]
    fold(con)
    con.execute("INSERT INTO docs (id, title) VALUES (1, 'second')")
    fold(con)
    compact(con)
    assert rows(con, "SELECT id, title FROM docs") == [(1, "second")]


def test_delete_without_where_empties_the_namespace(con):
    con.executemany("INSERT INTO docs (id) VALUES (?)", [(i,) for i in range(20)])
    assert con.execute("DELETE FROM docs").rowcount == 20
    assert rows(con, "SELECT count(*) FROM docs") == [(0,)]


def test_insert_select_from_the_namespace_itself(con):
    con.executemany("INSERT INTO docs (id, price) VALUES (?, ?)", [(i, float(i)) for i in range(5)])
    con.execute("INSERT INTO docs (id, price) SELECT id + 100, price FROM docs")
    assert rows(con, "SELECT count(*), sum(price) FROM docs") == [(10, 20.0)]


def test_insert_from_arrow_and_parquet_and_join(con, tmp_path):
    table = pa.table({"id": list(range(50)), "title": [f"t{i}" for i in range(50)]})
    con.register("incoming", table)
    con.execute("INSERT INTO docs (id, title) SELECT id, title FROM incoming")
    other = tmp_path / "other.parquet"
    con.execute(f"COPY (SELECT range AS id, range * 2 AS score FROM range(10)) TO '{other}'")
    got = rows(
        con,
        f"SELECT count(*), sum(o.score) FROM docs JOIN read_parquet('{other}') o USING (id)",
    )
    assert got == [(10, 90)]


def test_python_variable_is_found_by_replacement_scan(con):
    incoming = pa.table({"id": [1, 2, 3], "title": ["a", "b", "c"]})
    assert incoming.num_rows == 3
    con.execute("INSERT INTO docs (id, title) SELECT id, title FROM incoming")
    assert rows(con, "SELECT count(*) FROM docs") == [(3,)]


def test_a_table_or_namespace_wins_over_a_variable_of_its_name(con):
    con.execute("INSERT INTO docs (id, title) VALUES (1, 'a')")
    docs = pa.table({"id": [7, 8], "title": ["x", "y"]})
    assert docs.num_rows == 2
    assert rows(con, "SELECT count(*) FROM docs") == [(1,)]
    con.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS id")  # the session's own
    scratch = docs
    assert scratch.num_rows == 2
    assert rows(con, "SELECT count(*) FROM scratch") == [(1,)]


def test_only_the_callers_variables_are_tables(con):
    missing = "a string, not a table"
    assert missing
    with pytest.raises(elacsym_sql.ProgrammingError) as failed:
        con.execute("SELECT * FROM missing")  # nor any local of this package's frames
    assert failed.value.sqlstate == "42P01"
    with pytest.raises(elacsym_sql.ProgrammingError) as failed:
        con.execute("SELECT * FROM operation")  # a parameter name of Cursor.execute
    assert failed.value.sqlstate == "42P01"


def test_executemany_is_one_atomic_write_with_last_row_winning(con):
    ns = con.database.engine.namespace("docs")
    before = ns.snapshot().tail_seq
    con.executemany("INSERT INTO docs (id, title) VALUES (?, ?)", [(1, "a"), (2, "b"), (1, "c")])
    assert ns.snapshot().tail_seq == before + 1
    assert rows(con, "SELECT id, title FROM docs ORDER BY id") == [(1, "c"), (2, "b")]


def test_executemany_with_mixed_types_falls_back_to_row_by_row(con):
    con.executemany("INSERT INTO docs (id, title) VALUES (?, ?)", [(1, "a"), (2, 3)])
    assert rows(con, "SELECT id, title FROM docs ORDER BY id") == [(1, "a"), (2, "3")]


def test_all_column_types_round_trip(make_settings):
    with connection(make_settings) as c:
        c.execute(
            "CREATE TABLE t (id UUID PRIMARY KEY, b BOOLEAN, i INTEGER, f FLOAT, d DATE, "
            "ts TIMESTAMP, j JSON, nums BIGINT[], v FLOAT[2], w FLOAT[3])"
        )
        c.execute(
            "INSERT INTO t VALUES ('6f1c9a52-2b4e-4c3a-9d5e-0a1b2c3d4e5f', true, 7, 1.5, "
            "'2024-02-29', '2024-02-29 12:34:56', '{\"a\": [1, 2]}', [1, 2, 3], [1, 2], [3, 4, 5])"
        )
        fold(c, "t")
        got = rows(
            c,
            "SELECT id::VARCHAR, b, i, f, d::VARCHAR, ts::VARCHAR, j->>'a', nums, "
            "v, w, typeof(id), typeof(j), typeof(v) FROM t",
        )
        assert got == [
            (
                "6f1c9a52-2b4e-4c3a-9d5e-0a1b2c3d4e5f",
                True,
                7,
                1.5,
                "2024-02-29",
                "2024-02-29 12:34:56",
                "[1,2]",
                [1, 2, 3],
                (1.0, 2.0),
                (3.0, 4.0, 5.0),
                "UUID",
                "JSON",
                "FLOAT[2]",
            )
        ]


def test_text_primary_key(make_settings):
    with connection(make_settings) as c:
        c.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT)")
        c.executemany("INSERT INTO kv VALUES (?, ?)", [(f"k{i}", i) for i in range(30)])
        fold(c, "kv")
        c.execute("UPDATE kv SET v = -1 WHERE k IN ('k3', 'k29')")
        c.execute("DELETE FROM kv WHERE k = 'k4'")
        fold(c, "kv")
        compact(c, "kv")
        got = dict(rows(c, "SELECT k, v FROM kv"))
        want = {f"k{i}": i for i in range(30) if i != 4} | {"k3": -1, "k29": -1}
        assert got == want


def test_drop_and_create_again_starts_empty(con):
    con.execute("INSERT INTO docs (id) VALUES (1)")
    fold(con)
    con.execute("INSERT INTO docs (id) VALUES (2)")
    con.execute("DROP TABLE docs")
    with pytest.raises(Exception) as info:
        con.execute("SELECT * FROM docs")
    assert info.value.sqlstate == "42P01"
    con.execute("CREATE TABLE docs (id BIGINT PRIMARY KEY, note TEXT)")
    assert rows(con, "SELECT * FROM docs") == []
    con.execute("INSERT INTO docs VALUES (3, 'new life')")
    assert rows(con, "SELECT * FROM docs") == [(3, "new life")]


def test_create_if_not_exists_and_drop_if_exists(con):
    con.execute("CREATE TABLE IF NOT EXISTS docs (id BIGINT PRIMARY KEY)")
    con.execute("DROP TABLE IF EXISTS never_made")
    assert "docs" in con.database.engine.list_namespaces()


def test_second_connection_sees_every_acknowledged_write(con, make_settings):
    with connection(make_settings) as other:
        for i in range(5):
            con.execute("INSERT INTO docs (id, price) VALUES (?, ?)", [i, float(i)])
            assert rows(other, "SELECT count(*) FROM docs") == [(i + 1,)]
        con.execute("DELETE FROM docs WHERE id = 0")
        fold(con)
        con.execute("UPDATE docs SET price = 0 WHERE id = 1")
        assert rows(other, "SELECT id, price FROM docs ORDER BY id") == [
            (1, 0.0),
            (2, 2.0),
            (3, 3.0),
            (4, 4.0),
        ]
