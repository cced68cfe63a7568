"""The command line as a new user types it: settings before or after the command, shown in
each command's --help; --version; --listen with a port alone; ls and drop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import psycopg
import pytest

from elacsym_sql import __version__, connect
from elacsym_sql.cli import build_parser, main
from elacsym_sql.cli.settings import load


@pytest.fixture
def env(clean_env, tmp_path):
    monkeypatch = clean_env
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.mark.parametrize(
    "argv",
    [
        ["--data", "D", "--cache-bytes", "4GB", "serve", "--listen", "5999"],
        ["serve", "--data", "D", "--cache-bytes", "4GB", "--listen", "5999"],
        ["--data", "D", "serve", "--listen", "5999", "--cache-bytes", "4GB"],
    ],
)
def test_settings_before_or_after_the_command(env, argv):
    loaded = load(build_parser().parse_args(argv))
    assert loaded.settings.data == "D"
    assert loaded.settings.cache_bytes == 4 * 10**9
    assert loaded.resolved.sources["data"] == "--data"
    assert loaded.server.address() == ("127.0.0.1", 5999)


def test_after_the_command_wins_over_before(env):
    loaded = load(build_parser().parse_args(["--data", "A", "shell", "--data", "B"]))
    assert loaded.settings.data == "B"


def test_every_command_help_shows_the_settings(capsys):
    for verb in ("serve", "shell", "import", "ls", "config"):
        with pytest.raises(SystemExit):
            main([verb, "--help"])
        out = capsys.readouterr().out
        assert "--data" in out and "--cache-bytes" in out and "$ELACSYM_DATA" in out, verb
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--listen HOST:PORT" in out and "--max-connections" in out and "--allow-read" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"elacsym {__version__}"


@pytest.mark.parametrize(
    ("listen", "address"),
    [
        ("5433", ("127.0.0.1", 5433)),
        (":5433", ("127.0.0.1", 5433)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
        ("[::1]:5433", ("::1", 5433)),
    ],
)
def test_listen_forms(env, listen, address):
    assert (
        load(build_parser().parse_args(["serve", "--listen", listen])).server.address() == address
    )


@pytest.mark.parametrize("listen", ["localhost", "host:port", "70000", "1.2.3.4:"])
def test_bad_listen_is_refused(env, capsys, listen):
    assert main(["serve", "--listen", listen]) == 2
    assert f"--listen wants host:port or a port, not {listen!r}" in capsys.readouterr().err


def test_ls_and_drop(env, capsys, tmp_path):
    data = str(tmp_path / "data")
    with connect(data) as con:
        con.execute("CREATE TABLE a (id BIGINT PRIMARY KEY)")
        con.execute('CREATE TABLE "My Docs" (id BIGINT PRIMARY KEY)')
        con.execute("INSERT INTO a VALUES (1), (2)")
    assert main(["ls", "--data", data]) == 0
    out = capsys.readouterr().out
    assert " a       |    2" in out and " My Docs |    0" in out and "(2 rows)" in out
    assert main(["drop", "My Docs", "--data", data]) == 0
    assert main(["drop", "nope", "--data", data]) == 1
    assert 'namespace "nope" does not exist (SQLSTATE 42P01)' in capsys.readouterr().err
    with connect(data) as con:
        assert con.execute("SELECT name FROM elacsym_namespaces()").fetchall() == [("a",)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_with_data_after_the_command_and_a_port_alone(tmp_path):
    """As the issue's new user typed it: `elacsym serve --data DIR --listen PORT`."""
    port = _free_port()
    env = dict(os.environ, ELACSYM_CACHE_DIR=str(tmp_path / "cache"), ELACSYM_INDEXER="false")
    command = [sys.executable, "-m", "elacsym_sql.cli", "serve", "--data", str(tmp_path / "d"),
               "--listen", str(port), "--http", "off"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path)  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert f"listening on 127.0.0.1:{port} (data {tmp_path / 'd'}" in line, proc.stderr.read()
        with psycopg.connect(f"host=127.0.0.1 port={port}", autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_reader_leaving_early_is_not_an_error(tmp_path):
    """`elacsym config | head -1`: the pipe closes; no traceback, the shell's 141."""
    env = dict(os.environ, ELACSYM_CACHE_DIR=str(tmp_path / "cache"))
    command = [sys.executable, "-m", "elacsym_sql.cli", "config"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    proc = subprocess.Popen(command, env=env, cwd=tmp_path, **pipes)
    proc.stdout.close()  # the reader is gone before anything is written
    assert proc.wait(timeout=120) == 141
    assert proc.stderr.read() == b""
