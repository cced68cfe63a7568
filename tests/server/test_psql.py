"""psql against the server: -c, script mode, several statements in one string, errors."""

from __future__ import annotations

import subprocess

import pytest

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "psql"], capture_output=True).returncode != 0, reason="no psql"
)


def psql(port: int, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "psql",
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "tester",
            "-d",
            "elacsym",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=0",
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_several_statements_in_one_string_return_each_result(wire):
    out = psql(wire[0], "-c", "SELECT 1; SELECT 'two'; SELECT id FROM docs ORDER BY id")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "two", "1", "2", "3"]


def test_script_mode_with_ddl_writes_and_errors(wire, tmp_path):
    script = tmp_path / "s.sql"
    script.write_text(
        "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT);\n"
        "INSERT INTO notes VALUES (1, 'a'), (2, 'b');\n"
        "SELECT nope FROM notes;\n"
        "UPDATE notes SET body = 'c' WHERE id = 2;\n"
        "SELECT id, body FROM notes ORDER BY id;\n"
        "DROP TABLE notes;\n"
    )
    out = psql(wire[0], "-f", str(script))
    assert out.stdout.split() == ["CREATE", "TABLE", "INSERT", "0", "2", "UPDATE", "1",
                                  "1|a", "2|c", "DROP", "TABLE"]  # fmt: skip
    assert "ERROR:" in out.stderr and "nope" in out.stderr


def test_search_functions_and_version(wire):
    out = psql(
        wire[0],
        "-c", "SELECT id FROM text_search('docs', 'storage', 5) ORDER BY id",
        "-c", "SELECT version() LIKE 'PostgreSQL 15%elacsym_sql%'",
        "-c", "SHOW server_version",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:3] == ["1", "3", "t"]
    assert "elacsym_sql" in out.stdout
