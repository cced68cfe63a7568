"""The PEP 249 surface of the embedded connection."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

import elacsym_sql
from elacsym_sql import errors
from tests.helpers import connection, rows


@pytest.fixture
def con(make_settings):
    with connection(make_settings) as c:
        c.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)")
        yield c


def test_module_globals():
    assert elacsym_sql.apilevel == "2.0"
    assert elacsym_sql.paramstyle == "qmark"
    assert elacsym_sql.threadsafety in (1, 2)
    for name in (
        "Warning",
        "Error",
        "InterfaceError",
        "DatabaseError",
        "DataError",
        "OperationalError",
        "IntegrityError",
        "InternalError",
        "ProgrammingError",
        "NotSupportedError",
    ):
        assert hasattr(elacsym_sql, name)
    assert issubclass(errors.UniqueViolation, elacsym_sql.IntegrityError)
    assert issubclass(errors.UndefinedTable, elacsym_sql.ProgrammingError)
    assert issubclass(errors.InvalidVector, elacsym_sql.DataError)


def test_connect_with_keywords_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ELACSYM_DATA", str(tmp_path / "from-env"))
    monkeypatch.setenv("ELACSYM_CACHE_DIR", str(tmp_path / "cache"))
    with elacsym_sql.connect(indexer=False) as c:
        c.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)")
    assert (tmp_path / "from-env" / "t" / "manifest").is_dir()
    with pytest.raises(errors.InvalidParameterValue):
        elacsym_sql.connect(str(tmp_path), no_such_setting=1)


def test_cursor_description_rowcount_and_fetching(con):
    cur = con.cursor()
    cur.executemany("INSERT INTO kv VALUES (?, ?)", [(i, f"v{i}") for i in range(5)])
    assert cur.rowcount == 5
    assert cur.fetchall() == [(5,)]  # like DuckDB: a write returns its count
    cur.execute("SELECT id, v FROM kv ORDER BY id")
    assert [d[0] for d in cur.description] == ["id", "v"]
    assert cur.fetchone() == (0, "v0")
    assert cur.fetchmany(2) == [(1, "v1"), (2, "v2")]
    assert list(cur) == [(3, "v3"), (4, "v4")]
    assert cur.fetchone() is None
    cur.execute("SELECT ? + 1, $1::TEXT", [41])
    assert cur.fetchall() == [(42, "41")]


def test_ddl_has_no_result_set(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE other (id TEXT PRIMARY KEY)")
    assert cur.description is None


def test_several_statements_return_the_last_result(con):
    cur = con.execute(
        "INSERT INTO kv VALUES (1, 'a'); INSERT INTO kv VALUES (2, 'b'); SELECT count(*) FROM kv"
    )
    assert cur.fetchall() == [(2,)]


def test_arrow_result(con):
    con.execute("INSERT INTO kv VALUES (1, 'a')")
    table = con.execute("SELECT * FROM kv").fetch_arrow_table()
    assert isinstance(table, pa.Table) and table.to_pylist() == [{"id": 1, "v": "a"}]
    with pytest.raises(errors.InterfaceError):
        con.execute("INSERT INTO kv VALUES (2, 'b')").fetch_arrow_table()


def test_autocommit_by_default_and_begin_for_blocks(con):
    con.commit()
    con.rollback()  # no block open: nothing to do, as in DuckDB's Python API
    con.execute("INSERT INTO kv VALUES (1, 'a')")
    con.rollback()
    assert rows(con, "SELECT count(*) FROM kv") == [(1,)]  # it had committed on its own
    con.begin()
    assert con.in_transaction
    con.execute("INSERT INTO kv VALUES (2, 'b')")
    con.rollback()
    assert not con.in_transaction
    assert rows(con, "SELECT id FROM kv") == [(1,)]
    con.begin()
    con.cursor().execute("INSERT INTO kv VALUES (3, 'c')")  # the block is the connection's
    con.commit()
    assert rows(con, "SELECT id FROM kv ORDER BY id") == [(1,), (3,)]


def test_closed_connection_and_cursor_refuse_work(make_settings):
    c = elacsym_sql.Connection(elacsym_sql.Database(make_settings()))
    cur = c.cursor()
    cur.close()
    with pytest.raises(errors.InterfaceError):
        cur.execute("SELECT 1")
    c.close()
    c.close()  # idempotent
    with pytest.raises(errors.InterfaceError):
        c.execute("SELECT 1")


def test_temp_tables_and_views_stay_in_duckdb(con):
    con.execute("CREATE TEMP TABLE scratch (a INT)")
    con.execute("INSERT INTO scratch VALUES (1), (2)")
    assert rows(con, "SELECT sum(a) FROM scratch") == [(3,)]
    assert con.database.engine.list_namespaces() == ["kv"]


def test_cursors_in_threads(con):
    con.executemany("INSERT INTO kv VALUES (?, ?)", [(i, "x") for i in range(100)])
    results: list[int] = []

    def worker(n: int) -> None:
        cur = con.cursor()
        for i in range(20):
            cur.execute("INSERT INTO kv VALUES (?, ?)", [1000 + n * 100 + i, "t"])
            results.append(cur.execute("SELECT count(*) FROM kv").fetchone()[0])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 60 and min(results) > 100
    assert rows(con, "SELECT count(*) FROM kv") == [(160,)]


def test_stats(con):
    con.execute("INSERT INTO kv VALUES (1, 'a')")
    stats = con.stats("kv")
    assert stats["unindexed_rows"] == 1 and stats["segments"] == 0
    con.database.engine.fold("kv")
    stats = con.stats("kv")
    assert stats["segments"] == 1 and stats["segment_rows"] == 1 and stats["unindexed_rows"] == 0
    assert {"cache_hits", "cache_misses", "storage_requests"} <= set(stats)


def test_numbered_parameters_without_spaces(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE p (id BIGINT PRIMARY KEY, note TEXT)")
        con.execute("INSERT INTO p VALUES ($1,$2)", [1, "$1,$2 stays as written"])
        got = con.execute("SELECT note,$1 FROM p WHERE id = $2", ["x", 1]).fetchall()
        assert got == [("$1,$2 stays as written", "x")]
