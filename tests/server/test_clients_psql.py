"""psql as a user types it (meta-commands, scripts), one test per behaviour issue 8 asks of it.
Run against PostgreSQL 15 too with ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.server import clients

target = clients.target

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="no psql")


def psql(target: clients.Target, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run(
        ["psql", "-X", "-h", target.host, "-p", str(target.port), "-U", target.user,
         "-d", target.dbname, "-v", "ON_ERROR_STOP=1", *args],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PGPASSWORD": target.password},
    )  # fmt: skip
    if check:
        assert out.returncode == 0 and "ERROR" not in out.stderr, out.stderr
    return out


def test_single_transaction_script_that_fails_applies_nothing(target, tmp_path):
    psql(target, "-c", "CREATE TABLE ps_batch (id BIGINT PRIMARY KEY, v TEXT)")
    script = tmp_path / "load.sql"
    script.write_text("INSERT INTO ps_batch VALUES (1, 'a');\n"
                      "INSERT INTO ps_batch VALUES (2, 'b');\n"
                      "SELECT * FROM ps_no_such_table;\n")  # fmt: skip
    failed = psql(target, "-1", "-f", str(script), check=False)
    assert failed.returncode == 3 and "ps_no_such_table" in failed.stderr
    assert psql(target, "-At", "-c", "SELECT count(*) FROM ps_batch").stdout.strip() == "0"


def test_describe_a_namespace_with_vector_and_full_text(target):
    if target.kind == "pg15":
        pytest.skip("vector and full-text namespace settings are elacsym's own")
    create = ("CREATE TABLE ps_docs (id BIGINT PRIMARY KEY, title TEXT, embedding FLOAT[3]) "
              "WITH (metric = 'cosine', full_text = 'title')")  # fmt: skip
    psql(target, "-c", create)
    out = psql(target, "-c", r"\d+ ps_docs").stdout
    assert "cosine" in out and "title" in out
    assert any("3" in line for line in out.splitlines() if "embedding" in line or "dim" in line)
