"""Views under `elacsym serve --workers 2` (decision 0091): a view one worker made is read,
listed (pg_views, psql's \\dv), replaced and dropped through the other worker, whose process
never ran its CREATE VIEW."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.server.psql_client import psql
from tests.server.test_workers import Served, _connections_on_both, two_workers


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with two_workers(tmp_path) as s:
        yield s


@pytest.mark.slow
def test_a_view_made_on_one_worker_is_seen_on_the_other(served: Served):
    conns = _connections_on_both(served)
    first, second = conns["host-w0"], conns["host-w1"]
    second_port = int(
        first.execute("SELECT pg_address FROM elacsym_cluster() WHERE node_id = 'host-w1'")
        .fetchone()[0]
        .rsplit(":", 1)[1]
    )
    first.execute("CREATE TABLE docs (id BIGINT PRIMARY KEY, title TEXT, n INTEGER)")
    first.execute("INSERT INTO docs VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)")
    first.execute("CREATE VIEW big AS SELECT id, title FROM docs WHERE n > 1")

    assert second.execute("SELECT id FROM big ORDER BY id").fetchall() == [(2,), (3,)]
    assert second.execute(
        "SELECT schemaname, viewname FROM pg_views WHERE viewname = 'big'"
    ).fetchall() == [("public", "big")]
    listed = psql(second_port, "\\dv")
    assert "big" in listed and "view" in listed

    second.execute("CREATE OR REPLACE VIEW big AS SELECT id FROM docs WHERE n > 2")
    assert first.execute("SELECT * FROM big").fetchall() == [(3,)]

    first.execute("DROP VIEW big")
    with pytest.raises(psycopg.errors.UndefinedTable):
        second.execute("SELECT * FROM big")
    for conn in conns.values():
        conn.close()
