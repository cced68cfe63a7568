"""What elacsym_sql/sql/duckdb_stream.py relies on of DuckDB's private `_submit`, checked
against the installed DuckDB: a new release that changes any of it fails here first."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from elacsym_sql.sql.duckdb_stream import TESTED_WITH, Stream, duckdb_error

ROWS = 10_000_000


def late(failing: str, fine: str = "0") -> str:
    """A query whose row 9,000,000 of 10,000,000 evaluates `failing`, the others `fine`."""
    value = f"CASE WHEN range = 9000000 THEN {failing} ELSE {fine} END"
    return f"SELECT {value} AS x FROM range({ROWS})"


@pytest.fixture
def cur() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    yield con.cursor()
    con.close()


def test_the_installed_duckdb_is_the_one_tested() -> None:
    assert duckdb.__version__ == TESTED_WITH, (
        f"DuckDB {duckdb.__version__}: run this file against it, then set TESTED_WITH"
    )


def test_batches_come_in_the_size_asked_and_in_order(cur: duckdb.DuckDBPyConnection) -> None:
    stream = Stream(cur, "SELECT range AS x FROM range(2500)", None, 1000)
    assert [d[0] for d in stream.description] == ["x"]
    sizes, values = [], []
    for batch in stream.reader():
        sizes.append(batch.num_rows)
        values += batch.column(0).to_pylist()
    assert sizes == [1000, 1000, 500]
    assert values == list(range(2500))


def test_rows_are_computed_as_they_are_read(cur: duckdb.DuckDBPyConnection) -> None:
    """The first batch arrives before the query reaches a row that fails: nothing was
    computed in full up front."""
    reader = Stream(cur, late("error('late')"), None, 1000).reader()
    assert reader.read_next_batch().num_rows == 1000
    with pytest.raises((OSError, pa.ArrowException)) as raised:
        while True:
            reader.read_next_batch()
    error = duckdb_error(raised.value)
    assert type(error) is duckdb.InvalidInputException
    assert "late" in str(error)


def test_parameters_are_bound(cur: duckdb.DuckDBPyConnection) -> None:
    table = Stream(cur, "SELECT ?::INTEGER + 1 AS y, ? AS s", [41, "a"], 10).reader().read_all()
    assert table.to_pylist() == [{"y": 42, "s": "a"}]


def test_a_closed_stream_frees_the_cursor(cur: duckdb.DuckDBPyConnection) -> None:
    stream = Stream(cur, "SELECT range FROM range(100000)", None, 1000)
    stream.reader().read_next_batch()
    stream.close()
    assert cur.execute("SELECT 7").fetchall() == [(7,)]
    done = Stream(cur, "SELECT range FROM range(10)", None, 1000)
    assert done.reader().read_all().num_rows == 10
    done.close()  # read to the end: DuckDB closed it already, and says so
    assert cur.execute("SELECT 8").fetchall() == [(8,)]


@pytest.mark.parametrize(
    ("failing", "fine", "kind"),
    [
        ("'x'::INTEGER", "1", duckdb.ConversionException),
        ("(range + 1e30)::BIGINT", "1", duckdb.ConversionException),
        ("error('boom')", "'fine'", duckdb.InvalidInputException),
        ("range::TINYINT", "0::TINYINT", duckdb.ConversionException),
        ("127::TINYINT + (range % 2 + 1)::TINYINT", "0::TINYINT", duckdb.OutOfRangeException),
    ],
)
def test_errors_while_reading_name_their_kind(
    cur: duckdb.DuckDBPyConnection, failing: str, fine: str, kind: type[duckdb.Error]
) -> None:
    """An error met while the batches are read comes through pyarrow with DuckDB's text,
    whose prefix still names DuckDB's kind of error."""
    reader = Stream(cur, late(failing, fine), None, 1000).reader()
    assert reader.read_next_batch().num_rows == 1000
    with pytest.raises((OSError, pa.ArrowException)) as raised:
        while True:
            reader.read_next_batch()
    assert type(duckdb_error(raised.value)) is kind
