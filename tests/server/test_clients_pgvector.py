"""The pgvector Python package as pgvector code uses it (`register_vector`, `vector(n)`,
distance operators), one test per behaviour issue 8 asks of it. With
ELACSYM_CLIENT_TESTS_PG=1 the PostgreSQL 15 run skips when pgvector is not installed there."""

from __future__ import annotations

import psycopg
import pytest

from tests.server import clients

target = clients.target


@pytest.fixture
def plain(target):
    with psycopg.connect(target.dsn, autocommit=True) as c:
        yield c


def test_unknown_extensions_are_refused_naming_them(plain, target):
    if target.kind == "pg15":
        pytest.skip("PostgreSQL answers 58P01 (no control file); the issue asks 0A000 here")
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="postgis"):
        plain.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    assert plain.execute("CREATE EXTENSION IF NOT EXISTS vector").statusmessage == (
        "CREATE EXTENSION"
    )
