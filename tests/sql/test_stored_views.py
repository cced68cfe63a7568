"""CREATE VIEW is durable and every process on the root sees it (decision 0091): a view made,
replaced or dropped by another process is seen by the next statement here, and after a
restart. The other process is a real one, running statements it reads from its stdin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import elacsym_sql
from elacsym_sql.errors import DependentObjectsStillExist, UndefinedTable
from tests.other_process import OtherProcess


@pytest.fixture
def other(tmp_path: Path) -> Iterator[OtherProcess]:
    o = OtherProcess(str(tmp_path))
    try:
        yield o
    finally:
        o.close()


def _rows(con: Any, sql: str) -> list[tuple[Any, ...]]:
    cur = con.cursor()
    cur.execute(sql)
    return cur.fetchall()


def _user_views(con: Any) -> list[tuple[str, str]]:
    return _rows(
        con,
        "SELECT schemaname, viewname FROM pg_views "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
    )


def test_a_view_made_elsewhere_is_read_replaced_and_dropped_here(
    tmp_path: Path, other: OtherProcess
):
    here = elacsym_sql.connect(str(tmp_path))  # open before the view exists
    other.run("CREATE TABLE docs (id BIGINT PRIMARY KEY, title TEXT, n INTEGER)")
    other.run("INSERT INTO docs VALUES (1, 'a', 1), (2, 'b', 2)")
    other.run("CREATE VIEW big AS SELECT id, title FROM docs WHERE n > 1")
    assert _rows(here, "SELECT * FROM big") == [(2, "b")]
    assert _user_views(here) == [("public", "big")]

    other.run("INSERT INTO docs VALUES (3, 'c', 5)")  # through the view, as of now
    assert _rows(here, "SELECT id FROM big ORDER BY id") == [(2,), (3,)]

    other.run("CREATE OR REPLACE VIEW big AS SELECT id, n FROM docs WHERE n > 2")
    assert _rows(here, "SELECT * FROM big") == [(3, 5)]
    (definition,) = _rows(here, "SELECT definition FROM pg_views WHERE viewname = 'big'")[0]
    assert "n > 2" in definition

    other.run("DROP VIEW big")
    with pytest.raises(UndefinedTable):
        _rows(here, "SELECT * FROM big")
    assert _user_views(here) == []
    here.close()


def test_views_outlive_the_process_and_keep_their_schema(tmp_path: Path, other: OtherProcess):
    other.run("CREATE TABLE docs (id BIGINT PRIMARY KEY, n INTEGER)")
    other.run("INSERT INTO docs VALUES (1, 10), (2, 20)")
    other.run("CREATE SCHEMA reports")
    other.run("CREATE VIEW reports.total AS SELECT sum(n) AS n FROM docs")
    other.run("CREATE VIEW doubled AS SELECT n * 2 AS n FROM reports.total")  # a view's view
    other.run("CREATE TEMP VIEW mine AS SELECT 1 AS one")  # the session's own
    other.close()

    restarted = elacsym_sql.connect(str(tmp_path))
    assert _rows(restarted, "SELECT * FROM doubled") == [(60,)]
    assert _rows(restarted, "SELECT * FROM reports.total") == [(30,)]
    assert _user_views(restarted) == [("public", "doubled"), ("reports", "total")]
    assert _rows(
        restarted,
        "SELECT table_schema, table_name FROM information_schema.views ORDER BY 1, 2",
    ) == [("public", "doubled"), ("reports", "total")]
    with pytest.raises(UndefinedTable):
        _rows(restarted, "SELECT * FROM mine")
    restarted.close()


def test_a_schema_with_a_view_is_not_dropped(tmp_path: Path):
    con = elacsym_sql.connect(str(tmp_path))
    con.execute("CREATE SCHEMA reports")
    con.execute("CREATE VIEW reports.one AS SELECT 1 AS n")
    with pytest.raises(DependentObjectsStillExist) as refused:
        con.execute("DROP SCHEMA reports")
    assert refused.value.detail == "view reports.one depends on schema reports"
    assert _rows(con, "SELECT * FROM reports.one") == [(1,)]
    con.execute("DROP VIEW reports.one")
    con.execute("DROP SCHEMA reports")
    con.close()
