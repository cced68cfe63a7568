"""pandas through SQLAlchemy (`to_sql` writes its own CREATE TABLE: no primary key), one test
per behaviour issue 8 asks of it. Run against PostgreSQL 15 too with
ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from tests.server import clients

target = clients.target


@pytest.fixture(scope="module")
def engine(target):
    eng = sa.create_engine(target.url("psycopg"))
    try:
        yield eng
    finally:
        eng.dispose()


def frame(start: int, n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "sku": [f"s{i}" for i in range(start, start + n)],
        "qty": list(range(start, start + n)),
        "price": [i * 0.25 for i in range(start, start + n)],
        "active": [i % 2 == 0 for i in range(start, start + n)],
        "seen": pd.date_range("2024-01-01", periods=n, freq="h") + pd.Timedelta(hours=start),
    })  # fmt: skip


def test_to_sql_creates_a_table_appends_and_reads_back(engine):
    frame(0, 5).to_sql("pd_stock", engine, index=False)
    frame(5, 3).to_sql("pd_stock", engine, index=False, if_exists="append")
    back = pd.read_sql("SELECT * FROM pd_stock ORDER BY qty", engine)
    expected = pd.concat([frame(0, 5), frame(5, 3)], ignore_index=True)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert list(pd.read_sql_table("pd_stock", engine).columns) == list(expected.columns)


def test_to_sql_replace_with_the_index_and_chunks(engine):
    df = frame(0, 250).set_index("sku")
    df.to_sql("pd_indexed", engine, if_exists="replace", chunksize=100, method="multi")
    df.iloc[:10].to_sql("pd_indexed", engine, if_exists="replace")
    back = pd.read_sql("SELECT * FROM pd_indexed ORDER BY qty", engine, index_col="sku")
    pd.testing.assert_frame_equal(back, df.iloc[:10], check_dtype=False)


def test_read_sql_with_parameters_and_aggregate_names(engine):
    frame(0, 20).to_sql("pd_query", engine, index=False)
    got = pd.read_sql(sa.text("SELECT active, count(*), sum(qty), avg(price) FROM pd_query "
                              "WHERE qty >= :low GROUP BY active ORDER BY active"),
                      engine, params={"low": 10})  # fmt: skip
    assert list(got.columns) == ["active", "count", "sum", "avg"]
    assert got["count"].tolist() == [5, 5] and got["sum"].tolist() == [75, 70]
