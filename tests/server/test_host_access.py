"""Wire clients cannot reach the host: no reading, writing or globbing of the server's
files, no ATTACH, INSTALL/LOAD or change of DuckDB's settings, each refused with 42501
naming what was refused; nothing lands on disk and the namespace stays readable. Files in
the directories an operator allowed (--allow-read, per user in users.toml) are readable
with read_parquet/read_csv/COPY FROM, and nothing outside them (`..`, symlinks, globs)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import elacsym_sql
from elacsym_sql.server import BackgroundServer

from . import wire_client as wire
from .wire_client import Client


class Host:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port

    def connect(self, user: str = "tester") -> psycopg.Connection:
        return psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={user} dbname=elacsym", autocommit=True
        )

    def files(self) -> dict[str, int]:
        """Every file under the test's root with its size (symlinks not followed)."""
        out = {}
        for dirpath, _, names in os.walk(self.root):
            for name in names:
                path = os.path.join(dirpath, name)
                out[path] = os.lstat(path).st_size
        return out


def _table(n: int) -> pa.Table:
    return pa.table({"id": list(range(n)), "word": [f"w{i}" for i in range(n)]})


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    root = tmp_path_factory.mktemp("host")
    for d in ("allowed/sub", "outside", "alice"):
        (root / d).mkdir(parents=True)
    pq.write_table(_table(3), root / "allowed" / "f.parquet")
    pq.write_table(_table(2), root / "allowed" / "sub" / "g.parquet")
    (root / "allowed" / "f.csv").write_text("id,word\n7,seven\n8,eight\n")
    pq.write_table(_table(5), root / "outside" / "secret.parquet")
    pq.write_table(_table(4), root / "alice" / "a.parquet")
    os.symlink(root / "outside" / "secret.parquet", root / "allowed" / "link.parquet")
    os.symlink(root / "outside", root / "allowed" / "dirlink")
    con = elacsym_sql.connect(str(root / "data"), cache_dir=str(root / "cache"), indexer=False)
    con.execute(
        "CREATE TABLE docs (id BIGINT PRIMARY KEY, title TEXT, price DOUBLE, v FLOAT[2])"
        " WITH (full_text = 'title')"
    )
    rows = [(1, "a word", 1.0, [1, 0]), (2, "b word", 2.0, [0, 1])]
    con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", rows)
    con.database.engine.fold("docs")  # a segment: the view reads a file of the cache
    con.execute("INSERT INTO docs VALUES (3, 'c word', 3.0, [1, 1])")  # and a WAL tail
    server = BackgroundServer(
        con.database,
        allow_read=[str(root / "allowed")],
        user_read_dirs={"alice": [str(root / "alice")]},
    ).start()
    try:
        yield Host(root, server.port)
    finally:
        server.stop()
        con.close()


def _refused(host: Host, sql: str, named: str, sqlstate: str = "42501") -> None:
    before = host.files()
    with host.connect() as conn:
        with pytest.raises(psycopg.Error) as failed:
            conn.execute(sql).fetchall()
        assert failed.value.sqlstate == sqlstate, failed.value
        assert named in str(failed.value), failed.value
        # The session goes on, and the namespace reads as before.
        assert conn.execute("SELECT id FROM docs ORDER BY id").fetchall() == [(1,), (2,), (3,)]
    assert host.files() == before  # nothing written


REFUSED = [
    ("SELECT * FROM read_text('/etc/hostname')", "file access is disabled for wire clients"),
    ("SELECT content FROM read_blob('/etc/hostname')", "read_blob"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM glob('{root}/**')", "glob"),
    ("SELECT * FROM glob('{root}/data/docs/wal/*')", "glob"),
    ("SELECT * FROM read_parquet('{root}/outside/secret.parquet')", "not under an allowed"),
    ("SELECT * FROM '{root}/outside/secret.parquet'", "not under an allowed"),
    ("SELECT * FROM read_parquet('{root}/allowed/../outside/secret.parquet')", "read_parquet"),
    ("SELECT * FROM read_parquet('{root}/allowed/link.parquet')", "not under an allowed"),
    ("SELECT * FROM read_parquet('{root}/allowed/dirlink/secret.parquet')", "read_parquet"),
    ("SELECT * FROM read_parquet('{root}/allowed/*.parquet')", "not under an allowed"),
    ("SELECT * FROM read_parquet(['{root}/allowed/f.parquet', '/etc/x.parquet'])", "/etc/x"),
    ("SELECT * FROM read_parquet('{root}/alice/a.parquet')", "not under an allowed"),
    ("FROM '{root}/outside/secret.parquet' SELECT *", "not under an allowed"),
    ("SUMMARIZE '{root}/outside/secret.parquet'", "not under an allowed"),
    ("DESCRIBE '{root}/outside/secret.parquet'", "not under an allowed"),
    ("SHOW '{root}/outside/secret.parquet'", "secret.parquet"),
    ("PIVOT '{root}/outside/secret.parquet' ON word USING count(*)", "not under an allowed"),
    ("DECLARE c CURSOR WITH HOLD FOR SELECT * FROM read_text('/etc/hostname')", "read_text"),
    ("SELECT * FROM read_text(current_setting('x'))", "must be a string literal"),
    ("SELECT * FROM query('SELECT * FROM read_text(''/etc/hostname'')')", "query()"),
    ("CALL read_text('/etc/hostname')", "read_text"),
    ("COPY (SELECT 'garbage') TO '{root}/data/docs/wal/00000000000000000002.arrow'", "COPY TO"),
    ("COPY (SELECT 1 AS x) TO '{root}/allowed/out.csv'", "COPY TO"),
    ("COPY docs TO '{root}/cache/x.parquet' (FORMAT parquet)", "COPY TO"),
    ("EXPLAIN ANALYZE COPY (SELECT 1) TO '{root}/e.csv'", "COPY TO"),
    ("PREPARE p AS COPY (SELECT 1) TO '{root}/p.csv'", "COPY TO"),
    ("EXPORT DATABASE '{root}/export'", "EXPORT DATABASE"),
    ("ATTACH '{root}/x.duckdb' AS x", "ATTACH"),
    ("ATTACH ':memory:' AS m", "ATTACH"),
    ("INSTALL httpfs", "INSTALL"),
    ("LOAD httpfs", "LOAD"),
    ("LOAD '{root}/evil.duckdb_extension'", "LOAD"),
    ("PRAGMA import_database('{root}/allowed')", "IMPORT_DATABASE"),
    ("SET enable_external_access = true", "enable_external_access"),
    ("SET GLOBAL enable_external_access = true", "enable_external_access"),
    ("SET lock_configuration = false", "lock_configuration"),
    ("SET allowed_directories = ['/']", "allowed_directories"),
    ("SET temp_directory = '{root}/data/docs'", "temp_directory"),
    ("SET threads = 1", "threads"),
]


@pytest.mark.parametrize(("sql", "named"), REFUSED)
def test_host_access_is_refused_with_its_name(host, sql, named):
    _refused(host, sql.format(root=host.root), named)


@pytest.mark.parametrize("name", ["self", "stmt", "params", "cur", "state", "t"])
def test_the_servers_python_variables_are_not_tables(host, name):
    # DuckDB's Python replacement scan would look the name up among the server's locals.
    _refused(host, f"SELECT * FROM {name}", f'relation "{name}" does not exist', sqlstate="42P01")


def test_reset_does_not_turn_access_back_on(host):
    with host.connect() as conn:
        for name in ("lock_configuration", "enable_external_access", "allowed_directories"):
            with pytest.raises(psycopg.Error) as failed:
                conn.execute(f"RESET {name}")
            assert failed.value.sqlstate == "42501" and name in str(failed.value)
        with pytest.raises(psycopg.Error) as failed:
            conn.execute("SELECT * FROM read_text('/etc/hostname')")
        assert failed.value.sqlstate == "42501"
        setting = "SELECT value FROM duckdb_settings() WHERE name = 'enable_external_access'"
        assert conn.execute(setting).fetchone() == ("false",)


def test_describing_a_statement_is_checked_too(host):
    # Describe binds the statement without running it; binding a table function reads
    # its file already (schema, glob), so Parse + Describe is refused the same way.
    client = Client(host.port)
    try:
        cached = next(p for p in host.files() if p.startswith(str(host.root / "cache")))
        replies = client.exchange(
            wire.parse(f"SELECT * FROM read_parquet('{cached}')"),
            wire.message(b"D", b"S\0"),
            wire.SYNC,
        )
        (error,) = wire.errors(replies)
        assert error["C"] == "42501" and "read_parquet" in error["M"]
    finally:
        client.close()


def test_cache_files_are_not_readable_by_name(host):
    cached = [p for p in host.files() if p.startswith(str(host.root / "cache")) and ".parquet" in p]
    assert cached  # the view reads one
    _refused(host, f"SELECT * FROM read_parquet('{cached[0]}')", "not under an allowed")


@pytest.mark.parametrize(
    ("filt", "sqlstate"),
    [
        ("1=1) UNION SELECT 1 FROM read_text('/etc/hostname') WHERE (1=1", "42601"),
        ("length((SELECT content FROM read_text('/etc/hostname'))) > 0", "0A000"),
        ("glob('/etc/*') IS NOT NULL", "0A000"),
    ],
)
def test_filters_cannot_reach_the_host(host, filt, sqlstate):
    escaped = filt.replace("'", "''")
    _refused(
        host, f"SELECT id FROM text_search('docs', 'word', 2, filter := '{escaped}')", "", sqlstate
    )
    _refused(
        host,
        f"SELECT id FROM vector_search('docs', [1, 0], 2, filter := '{escaped}')",
        "",
        sqlstate,
    )
    with host.connect() as conn:  # as a parameter, in the extended protocol
        with pytest.raises(psycopg.Error) as failed:
            conn.execute("SELECT id FROM vector_search('docs', [1, 0], 2, filter := %s)", [filt])
        assert failed.value.sqlstate == sqlstate, failed.value
        found = conn.execute(
            "SELECT id FROM vector_search('docs', [1, 0], 2, filter := %s)", ["price > 1"]
        )
        assert [r[0] for r in found] == [3, 2]


def test_allowed_directory_is_readable(host):
    allowed = host.root / "allowed"
    with host.connect() as conn:
        assert conn.execute(
            f"SELECT count(*), max(word) FROM read_parquet('{allowed}/f.parquet')"
        ).fetchone() == (3, "w2")
        assert conn.execute(f"SELECT count(*) FROM read_parquet('{allowed}/sub/*.parquet')")
        assert conn.execute(f"SELECT sum(id) FROM read_csv('{allowed}/f.csv')").fetchone() == (15,)
        assert conn.execute(f"SELECT count(*) FROM '{allowed}/f.parquet'").fetchone() == (3,)
        conn.execute("CREATE TEMP TABLE staged (id BIGINT, word TEXT)")
        conn.execute(f"COPY staged FROM '{allowed}/f.csv' (HEADER)")
        assert conn.execute("SELECT id FROM staged ORDER BY id").fetchall() == [(7,), (8,)]
        # A namespace bulk-loads from an allowed file.
        conn.execute("CREATE TABLE words (id BIGINT PRIMARY KEY, word TEXT)")
        conn.execute(f"INSERT INTO words SELECT * FROM read_parquet('{allowed}/f.parquet')")
        assert conn.execute("SELECT count(*) FROM words").fetchone() == (3,)
        with pytest.raises(psycopg.Error) as failed:
            conn.execute(f"COPY staged FROM '{host.root}/outside/x.csv'")
        assert failed.value.sqlstate == "42501"
        assert "COPY FROM" in str(failed.value)


def test_a_users_own_directories(host):
    alice = host.root / "alice" / "a.parquet"
    with host.connect("alice") as conn:
        assert conn.execute(f"SELECT count(*) FROM read_parquet('{alice}')").fetchone() == (4,)
        allowed = host.root / "allowed" / "f.parquet"  # and the server's
        assert conn.execute(f"SELECT count(*) FROM read_parquet('{allowed}')").fetchone() == (3,)
    with host.connect("bob") as conn:
        with pytest.raises(psycopg.Error) as failed:
            conn.execute(f"SELECT count(*) FROM read_parquet('{alice}')")
        assert failed.value.sqlstate == "42501"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_allow_read_and_users_toml(tmp_path):
    shared, own = tmp_path / "shared", tmp_path / "own"
    shared.mkdir()
    own.mkdir()
    pq.write_table(_table(2), shared / "s.parquet")
    pq.write_table(_table(6), own / "o.parquet")
    users = tmp_path / "users.toml"
    users.write_text(f'[users]\nalice = "pw-a"\nbob = "pw-b"\n\n[allow_read]\nalice = ["{own}"]\n')
    port = _free_port()
    env = dict(os.environ, ELACSYM_CACHE_DIR=str(tmp_path / "cache"), ELACSYM_INDEXER="false")
    proc = subprocess.Popen(
        [sys.executable, "-m", "elacsym_sql.cli", "--data", str(tmp_path / "data"), "serve",
         "--listen", f"127.0.0.1:{port}", "--auth", "scram", "--users", str(users),
         "--allow-read", str(shared), "--http", "off"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert "listening on" in proc.stdout.readline()

        def connect(user: str, password: str) -> psycopg.Connection:
            return psycopg.connect(
                f"host=127.0.0.1 port={port} user={user} password={password} dbname=e",
                autocommit=True,
            )

        with connect("alice", "pw-a") as conn:
            q = "SELECT count(*) FROM read_parquet(%s)"
            assert conn.execute(q.replace("%s", f"'{own}/o.parquet'")).fetchone() == (6,)
            assert conn.execute(q.replace("%s", f"'{shared}/s.parquet'")).fetchone() == (2,)
        with connect("bob", "pw-b") as conn:
            assert conn.execute(f"SELECT count(*) FROM '{shared}/s.parquet'").fetchone() == (2,)
            with pytest.raises(psycopg.Error) as failed:
                conn.execute(f"SELECT count(*) FROM '{own}/o.parquet'")
            assert failed.value.sqlstate == "42501"
            with pytest.raises(psycopg.Error) as failed:
                conn.execute("SELECT * FROM read_text('/etc/hostname')")
            assert "read_text" in str(failed.value)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
