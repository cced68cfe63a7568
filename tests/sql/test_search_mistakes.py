"""One mistake, one answer: a bad `k`, a query vector of the wrong dimension or with NaN gives
the same error class, SQLSTATE and message through the SQL functions (DuckDB's path), the
direct path and the engine API, since all three reach the engine API's checks."""

from __future__ import annotations

import pytest

from elacsym_sql import errors
from elacsym_sql.config import Settings
from elacsym_sql.engine import EngineApi
from elacsym_sql.sql.search.direct import recognise
from tests.helpers import DOCS, connection

GOOD = [0.1, 0.2, 0.3, 0.4]
K_MESSAGE = "k must be an integer from 1 to 10000, not {}"
DIM_MESSAGE = 'expected 4 dimensions, not 3, for column "embedding"'
NAN_MESSAGE = "query vector contains NaN or infinity"

# (function, the query arguments after the vector, vector, k, error, message)
MISTAKES = [
    ("vector_search", GOOD, 0, errors.InvalidParameterValue, K_MESSAGE.format(0)),
    ("vector_search", GOOD, 10_001, errors.InvalidParameterValue, K_MESSAGE.format(10_001)),
    ("vector_search", GOOD[:3], 5, errors.InvalidVector, DIM_MESSAGE),
    ("vector_search", [0.1, float("nan"), 0.3, 0.4], 5, errors.InvalidVector, NAN_MESSAGE),
    ("text_search", None, 0, errors.InvalidParameterValue, K_MESSAGE.format(0)),
    ("text_search", None, 10_001, errors.InvalidParameterValue, K_MESSAGE.format(10_001)),
    ("hybrid_search", GOOD, 0, errors.InvalidParameterValue, K_MESSAGE.format(0)),
    ("hybrid_search", GOOD, 10_001, errors.InvalidParameterValue, K_MESSAGE.format(10_001)),
    ("hybrid_search", GOOD[:3], 5, errors.InvalidVector, DIM_MESSAGE),
    ("hybrid_search", [float("nan"), 0.2, 0.3, 0.4], 5, errors.InvalidVector, NAN_MESSAGE),
]
SQL = {
    "vector_search": ("SELECT id FROM vector_search('docs', ?, ?)", lambda v, k: [v, k]),
    "text_search": ("SELECT id FROM text_search('docs', 'storage', ?)", lambda v, k: [k]),
    "hybrid_search": (
        "SELECT id FROM hybrid_search('docs', ?, 'storage', ?)",
        lambda v, k: [v, k],
    ),
}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("mistakes")  # one namespace for every case: read only
    settings = Settings(data=str(root / "data"), cache_dir=str(root / "cache"), indexer=False)
    with connection(lambda: settings) as c:
        c.execute(DOCS)
        c.executemany(
            "INSERT INTO docs (id, title, embedding) VALUES (?, ?, ?)",
            [(i, f"object storage {i}", [0.1 * i, 0.2, 0.3, 0.4]) for i in range(1, 9)],
        )
        yield c


def _api_call(api: EngineApi, function: str, vector: list[float] | None, k: int) -> None:
    if function == "vector_search":
        api.vector_search("docs", vector, k)
    elif function == "text_search":
        api.text_search("docs", "storage", k)
    else:
        api.hybrid_search("docs", vector, "storage", k)


@pytest.mark.parametrize(("function", "vector", "k", "error", "message"), MISTAKES)
def test_one_mistake_one_answer_through_every_door(con, function, vector, k, error, message):
    sql, params = SQL[function]
    args = params(vector, k)
    assert recognise(sql, args) is not None  # the direct path answers this one
    general = f"SELECT * FROM ({sql})"  # a subquery: DuckDB runs the SQL function
    assert recognise(general, args) is None
    answers = []
    for call in (
        lambda: con.execute(sql, args).fetchall(),
        lambda: con.execute(general, args).fetchall(),
        lambda: _api_call(EngineApi(con.database.engine), function, vector, k),
    ):
        with pytest.raises(errors.ElacsymError) as caught:
            call()
        answers.append((type(caught.value), caught.value.sqlstate, caught.value.message))
    assert answers == [(error, error.sqlstate, message)] * 3


def test_a_good_search_passes_every_door(con):
    """The checks refuse only mistakes: the same arguments within bounds are answered."""
    for sql, params in SQL.values():
        args = params(GOOD, 10_000)
        direct = con.execute(sql, args).fetchall()
        assert direct and direct == con.execute(f"SELECT * FROM ({sql})", args).fetchall()
