"""The server the client-matrix tests (test_clients_*.py) talk to.

`target` (module scope): an empty `elacsym serve`-equivalent wire server over a fresh data
directory. With ELACSYM_CLIENT_TESTS_PG=1 the same tests also run against the PostgreSQL 15
on 127.0.0.1:5432 (user/password postgres, a fresh database per module), which checks the
tests' own expectations against the reference. A module opts in with `target = clients.target`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

import elacsym_sql
from elacsym_sql.server import BackgroundServer

PG15 = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "postgres"}


@dataclass(frozen=True)
class Target:
    kind: str  # "elacsym" or "pg15"
    port: int
    user: str
    password: str
    dbname: str
    host: str = "127.0.0.1"

    @property
    def dsn(self) -> str:
        return (f"host={self.host} port={self.port} user={self.user} "
                f"password={self.password} dbname={self.dbname}")  # fmt: skip

    def url(self, driver: str = "psycopg") -> str:
        """SQLAlchemy URL with the given postgresql driver."""
        return (f"postgresql+{driver}://{self.user}:{self.password}@{self.host}:{self.port}"
                f"/{self.dbname}")  # fmt: skip


def _kinds() -> list[str]:
    return ["elacsym", "pg15"] if os.environ.get("ELACSYM_CLIENT_TESTS_PG") == "1" else ["elacsym"]


@pytest.fixture(scope="module", params=_kinds())
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    if request.param == "pg15":
        dbname = "clients_" + re.sub(r"\W", "_", request.module.__name__.rsplit(".", 1)[-1])
        admin = psycopg.connect(**PG15, dbname="postgres", autocommit=True)
        with admin:
            admin.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {dbname}")
        yield Target("pg15", PG15["port"], PG15["user"], PG15["password"], dbname)
        return
    root = tmp_path_factory.mktemp("clients")
    con = elacsym_sql.connect(str(root / "data"), cache_dir=str(root / "cache"), indexer=False)
    server = BackgroundServer(con.database).start()
    try:
        yield Target("elacsym", server.port, "tester", "secret", "elacsym")
    finally:
        server.stop()
        con.close()
