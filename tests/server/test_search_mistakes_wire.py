"""A search mistake over the wire (psycopg, server-side parameters, so the plain statement
takes the direct path, and inside a subquery, so DuckDB runs the SQL function) has the
SQLSTATE and message the engine API gives for it, and the connection stays usable."""

from __future__ import annotations

import psycopg
import pytest

from elacsym_sql import errors
from elacsym_sql.engine import EngineApi

MISTAKES = [  # (query vector, k)
    ([1.0, 0.0, 0.0], 0),
    ([1.0, 0.0, 0.0], 10_001),
    ([1.0, 0.0], 2),
    ([1.0, float("nan"), 0.0], 2),
]


@pytest.mark.parametrize(("vector", "k"), MISTAKES)
def test_wire_answers_a_mistake_as_the_engine_api(wire, dsn, vector, k):
    with pytest.raises(errors.ElacsymError) as api:
        EngineApi(wire[1].database.engine).vector_search("docs", vector, k)
    plain = "SELECT id FROM vector_search('docs', %s::float4[], %s)"
    with psycopg.connect(dsn, autocommit=True) as pg:
        for sql in (plain, f"SELECT * FROM ({plain}) s"):
            with pytest.raises(psycopg.Error) as caught:
                pg.execute(sql, [vector, k], prepare=True).fetchall()
            diag = caught.value.diag
            assert (diag.sqlstate, diag.message_primary) == (api.value.sqlstate, api.value.message)
        assert pg.execute(plain, [[1.0, 0.0, 0.0], 1]).fetchall() == [(1,)]
