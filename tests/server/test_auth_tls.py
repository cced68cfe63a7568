"""TLS (SSLRequest answered 'S') and authentication: SCRAM-SHA-256 and cleartext password
with psycopg, asyncpg and psql; wrong passwords and unknown users fail with 28P01."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess

import asyncpg
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import elacsym_sql
from elacsym_sql.server import BackgroundServer, Users, Verifier, tls_context

HAS_PSQL = subprocess.run(["which", "psql"], capture_output=True).returncode == 0


def self_signed(directory) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "c.pem", directory / "k.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """Servers over one data directory: SCRAM + TLS, and cleartext password."""
    root = tmp_path_factory.mktemp("auth")
    users_file = root / "users.toml"
    verifier = Verifier.from_password("s3cret, too").text()
    users_file.write_text(f'[users]\nalice = "plain-pass"\nbob = "{verifier}"\n')
    cert, key = self_signed(root)
    con = elacsym_sql.connect(str(root / "data"), cache_dir=str(root / "cache"), indexer=False)
    con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
    con.execute("INSERT INTO t VALUES (1, 'x')")
    users = Users.load(users_file)
    scram = BackgroundServer(con.database, auth="scram", users=users, tls=tls_context(cert, key))
    password = BackgroundServer(con.database, auth="password", users=users)
    scram.start()
    password.start()
    try:
        yield scram.port, password.port
    finally:
        scram.stop()
        password.stop()
        con.close()


def dsn(port: int, user: str, password: str, sslmode: str = "prefer") -> str:
    return (
        f"host=127.0.0.1 port={port} user={user} password='{password}' dbname=e sslmode={sslmode}"
    )


def test_scram_over_tls_with_psycopg(secured):
    port = secured[0]
    for user, password in (("alice", "plain-pass"), ("bob", "s3cret, too")):
        with psycopg.connect(dsn(port, user, password, "require"), autocommit=True) as conn:
            assert conn.pgconn.ssl_in_use
            assert conn.execute("SELECT v FROM t").fetchone() == ("x",)
            assert conn.execute("SELECT current_setting('session_authorization')").fetchone() == (
                user,
            )


@pytest.mark.parametrize(
    ("user", "password"), [("alice", "wrong"), ("bob", "plain-pass"), ("nobody", "x")]
)
def test_scram_failures_are_28P01(secured, user, password):
    with pytest.raises(psycopg.OperationalError) as err:
        psycopg.connect(dsn(secured[0], user, password, "require"))
    assert "password authentication failed" in str(err.value)
    assert err.value.sqlstate in (None, "28P01")  # libpq keeps the server's message


def test_plain_connection_is_refused_tls_when_not_configured(secured):
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn(secured[1], "alice", "plain-pass", "require"))
    with psycopg.connect(dsn(secured[1], "alice", "plain-pass", "disable")) as conn:
        assert not conn.pgconn.ssl_in_use
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_cleartext_password_success_and_failure(secured):
    port = secured[1]
    with psycopg.connect(dsn(port, "bob", "s3cret, too", "disable")) as conn:
        assert conn.execute("SELECT id FROM t").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(dsn(port, "bob", "nope", "disable"))


def test_asyncpg_scram_success_and_failure(secured):
    port = secured[0]

    async def run() -> None:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=port, user="alice", password="plain-pass", database="e",
            ssl="require",
        )  # fmt: skip
        try:
            assert await conn.fetchval("SELECT v FROM t WHERE id = $1", 1) == "x"
        finally:
            await conn.close()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(
                host="127.0.0.1", port=port, user="alice", password="bad", database="e",
                ssl="require",
            )  # fmt: skip
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(
                host="127.0.0.1", port=port, user="ghost", password="x", database="e", ssl=False
            )

    asyncio.run(run())


@pytest.mark.skipif(not HAS_PSQL, reason="no psql")
def test_psql_with_pgpassword(secured):
    def run(password: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PGPASSWORD=password, PGSSLMODE="require")
        return subprocess.run(
            ["psql", "-X", "-h", "127.0.0.1", "-p", str(secured[0]), "-U", "bob", "-d", "e",
             "-A", "-t", "-c", "SELECT v FROM t"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    ok = run("s3cret, too")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "x"
    bad = run("wrong")
    assert bad.returncode != 0
    assert 'password authentication failed for user "bob"' in bad.stderr
