"""The pg_catalog views and macros of a Database made after the process's first are the
replayed statements the first install recorded (install.py): the same catalog."""

from __future__ import annotations

import duckdb
import pytest

import elacsym_sql
from elacsym_sql.sql.dialect.pg_rewrite import SHIM
from elacsym_sql.sql.pg_catalog import install


def _catalog(duck: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    views = duck.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE schema_name = ? ORDER BY ALL", [SHIM]
    ).fetchall()
    return {
        "views": views,
        "columns": [
            (name, duck.execute(f"DESCRIBE {SHIM}.{name}").fetchall()) for name, _ in views
        ],
        "macros": duck.execute(
            "SELECT function_name, function_type, parameters::VARCHAR, macro_definition "
            "FROM duckdb_functions() WHERE schema_name = ? ORDER BY ALL",
            [SHIM],
        ).fetchall(),
    }


def test_a_replayed_catalog_is_the_first_one(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(install, "_catalog_statements", None)
    first = elacsym_sql.connect(str(tmp_path / "a"), indexer=False)
    assert install._catalog_statements  # recorded by this first install
    replayed = elacsym_sql.connect(str(tmp_path / "b"), indexer=False)
    try:
        want = _catalog(first.database._duck)
        assert len(want["views"]) > 50 and len(want["macros"]) > 50
        assert _catalog(replayed.database._duck) == want
    finally:
        first.close()
        replayed.close()
