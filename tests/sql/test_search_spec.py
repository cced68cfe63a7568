"""engine/search_spec.py states the search functions; until sql/ reads it (the next step of
issue 10), this checks that the SQL functions a namespace gets have exactly its parameters,
types and score columns, so the two cannot drift apart unnoticed."""

from __future__ import annotations

import re

import pytest

from elacsym_sql.engine.search_spec import SEARCH_FUNCTIONS
from elacsym_sql.sql.search_runner import SCORE_COLUMNS
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
    found = {name.removeprefix("elacsym_").removesuffix("__docs"): (p, d) for name, p, d in rows}
    assert set(found) == set(SEARCH_FUNCTIONS)
    for name, spec in SEARCH_FUNCTIONS.items():
        params, definition = found[name]
        assert params == [p.name for p in spec.params], name
        casts = re.findall(r"CAST\(\"?(\w+)\"? AS ([A-Z\[\]]+)\)", definition.split("unnest(")[1])
        assert casts == [(p.name, p.sql_type) for p in spec.params], name
        assert [(s.name, s.sql_type) for s in spec.scores] == [
            tuple(c) for c in SCORE_COLUMNS[name]
        ]
        assert all(s.name in definition for s in spec.scores)
