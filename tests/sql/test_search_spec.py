"""engine/search_spec.py states the search functions; the SQL functions a namespace gets are
built from it: exactly its parameters, types and score columns, in its order."""

from __future__ import annotations

import re

import pytest

from elacsym_sql.engine.search_spec import SEARCH_FUNCTIONS
from tests.helpers import DOCS, connection


@pytest.fixture(params=["local"])
def backend(request):
    return request.param


def test_sql_search_functions_match_the_spec(make_settings):
    with connection(make_settings) as con:
        con.execute(DOCS)
        con.execute("SELECT count(*) FROM docs").fetchall()  # installs the functions
        rows = con.database._duck.execute(
            "SELECT function_name, parameters, macro_definition FROM duckdb_functions() "
            "WHERE function_name LIKE 'elacsym_%search__docs'"
        ).fetchall()
        described = {
            name: con.execute(f"DESCRIBE SELECT * FROM {call}").fetchall()
            for name, call in {
                "vector_search": "vector_search('docs', [1, 0, 0, 0], 1)",
                "text_search": "text_search('docs', 'a', 1)",
                "hybrid_search": "hybrid_search('docs', [1, 0, 0, 0], 'a', 1)",
            }.items()
        }
    found = {name.removeprefix("elacsym_").removesuffix("__docs"): (p, d) for name, p, d in rows}
    assert set(found) == set(SEARCH_FUNCTIONS) == set(described)
    for name, spec in SEARCH_FUNCTIONS.items():
        params, definition = found[name]
        assert params == [p.name for p in spec.params], name
        casts = re.findall(r"CAST\(\"?(\w+)\"? AS ([A-Z\[\]]+)\)", definition.split("unnest(")[1])
        assert casts == [(p.name, p.sql_type) for p in spec.params], name
        scores = [(row[0], row[1]) for row in described[name][-len(spec.scores) :]]
        assert scores == [(s.name, s.sql_type) for s in spec.scores], name
