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


def table_rows(out: str) -> list[list[str]]:
    """The cells of psql's aligned output, header row first."""
    return [[c.strip() for c in line.split("|")] for line in out.splitlines() if "|" in line]


def test_meta_commands_list_roles_schemas_tables_and_descriptions(target):
    psql(target, "-c", "CREATE TABLE ps_plain (id BIGINT PRIMARY KEY, note TEXT NOT NULL)",
         "-c", "CREATE SCHEMA ps_schema",
         "-c", "COMMENT ON TABLE ps_plain IS 'plain table'",
         "-c", "INSERT INTO ps_plain VALUES (1, 'x')")  # fmt: skip
    roles = table_rows(psql(target, "-c", r"\du").stdout)
    assert roles[0][:2] == ["Role name", "Attributes"] and target.user in [r[0] for r in roles]
    schemas = [r[0] for r in table_rows(psql(target, "-c", r"\dn").stdout)]
    assert {"public", "ps_schema"} <= set(schemas)
    assert "Object descriptions" in psql(target, "-c", r"\dd").stdout
    listed = table_rows(psql(target, "-c", r"\dt+ ps_plain").stdout)
    header, row = listed[0], listed[1]
    assert header[:3] == ["Schema", "Name", "Type"] and "Size" in header
    cells = dict(zip(header, row, strict=True))
    assert cells["Name"] == "ps_plain" and cells["Description"] == "plain table"
    assert cells["Size"].split()[1] in ("bytes", "kB", "MB")
    described = psql(target, "-c", r"\d+ ps_plain").stdout
    columns = {r[0]: r for r in table_rows(described)}
    header = columns["Column"]
    assert "Storage" in header
    assert columns["id"][header.index("Type")] == "bigint"
    assert columns["note"][header.index("Nullable")] == "not null"
    assert columns["note"][header.index("Storage")] == "extended"
    assert '"ps_plain_pkey" PRIMARY KEY, btree (id)' in described


def test_sf_shows_a_function_definition(target):
    name = "vector_search" if target.kind == "elacsym" else "pg_catalog.pg_backend_pid"
    out = psql(target, "-c", rf"\sf {name}").stdout
    assert out.startswith("CREATE OR REPLACE FUNCTION") and name.split(".")[-1] in out


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
