"""Authentication refusals: the same work for known and unknown users in every mode (the
KDF and HMAC calls are counted, never the time), the same words, and failed logins limited
per client address (28000 past the limit, other addresses unaffected)."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator

import psycopg
import pytest

import elacsym_sql
from elacsym_sql.server import BackgroundServer, Users, auth
from elacsym_sql.server.login_guard import LoginGuard
from elacsym_sql.server.options import ServerOptions

from .wire_client import Client, errors, startup_packet


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[elacsym_sql.Connection]:
    root = tmp_path_factory.mktemp("authlimits")
    con = elacsym_sql.connect(str(root / "data"), cache_dir=str(root / "cache"), indexer=False)
    try:
        yield con
    finally:
        con.close()


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Users:
    path = tmp_path_factory.mktemp("users") / "users.toml"
    path.write_text('[users]\nalice = "right-password"\n')
    return Users.load(path)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often the server ran the password KDF and the SCRAM HMAC."""
    counted: Counter[str] = Counter()
    salted, hmac_ = auth._salted, auth._hmac

    def counting_salted(*args):  # type: ignore[no-untyped-def]
        counted["kdf"] += 1
        return salted(*args)

    def counting_hmac(*args):  # type: ignore[no-untyped-def]
        counted["hmac"] += 1
        return hmac_(*args)

    monkeypatch.setattr(auth, "_salted", counting_salted)
    monkeypatch.setattr(auth, "_hmac", counting_hmac)
    return counted


def refusal(port: int, user: str, password: str) -> psycopg.OperationalError:
    dsn = f"host=127.0.0.1 port={port} user={user} password={password} dbname=e sslmode=disable"
    with pytest.raises(psycopg.OperationalError) as err:
        psycopg.connect(dsn)
    return err.value


@pytest.mark.parametrize("mode", ["password", "scram"])
def test_unknown_and_known_users_fail_with_the_same_work_and_words(database, users, calls, mode):
    with BackgroundServer(database.database, auth=mode, users=users) as srv:
        work = {}
        words = {}
        for user in ("alice", "mallory"):
            calls.clear()
            err = refusal(srv.port, user, "wrong-password")
            work[user] = dict(calls)
            words[user] = str(err).replace(user, "<user>")
        assert work["alice"] == work["mallory"], work
        assert sum(work["alice"].values()) > 0  # the check ran at all
        assert words["alice"] == words["mallory"]
        assert "password authentication failed" in words["alice"]


def test_failed_logins_are_limited_per_address_and_logged(database, users, calls, caplog):
    options = ServerOptions(auth_failure_limit=3, auth_failure_window="1h")
    with BackgroundServer(database.database, auth="password", users=users, options=options) as srv:
        caplog.set_level("INFO", logger="elacsym.server")
        for _ in range(3):
            assert "password authentication failed" in str(refusal(srv.port, "alice", "guess"))
        calls.clear()
        refused = refusal(srv.port, "alice", "right-password")  # even the right one, now
        assert "too many failed authentication attempts" in str(refused)
        assert calls["kdf"] == 0  # refused before any password was checked
        failed = [r for r in caplog.records if getattr(r, "event", "") == "auth_failed"]
        assert len(failed) == 3
        assert all(r.levelname == "WARNING" and not r.exc_info for r in failed)
        assert failed[-1].fields["address"] == "127.0.0.1"
        assert failed[-1].fields["user"] == "alice"
        assert failed[-1].fields["failures"] == 3
        # Another client address is not affected (Linux routes all of 127/8 to loopback).
        sock = socket.create_connection(
            ("127.0.0.1", srv.port), timeout=30, source_address=("127.0.0.2", 0)
        )
        sock.sendall(startup_packet("alice"))
        other = Client.__new__(Client)
        other.sock = sock
        first = next(other.replies())
        assert first.kind == b"R"  # asked for a password, not refused
        sock.close()


def test_a_refused_address_gets_28000_over_a_raw_socket(database, users):
    options = ServerOptions(auth_failure_limit=1, auth_failure_window="1h")
    with BackgroundServer(database.database, auth="scram", users=users, options=options) as srv:
        refusal(srv.port, "nobody", "x")
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        sock.sendall(startup_packet("alice"))
        client = Client.__new__(Client)
        client.sock = sock
        replies = list(client.replies())
        assert [(e["S"], e["C"]) for e in errors(replies)] == [("FATAL", "28000")]
        assert "alice" not in errors(replies)[0]["M"]
        sock.close()


def test_the_guard_forgets_failures_after_the_window():
    now = [0.0]
    guard = LoginGuard(limit=2, window_seconds=60, now=lambda: now[0])
    assert guard.failed("10.0.0.1") == 1
    now[0] = 30
    assert guard.failed("10.0.0.1") == 2
    assert guard.refused("10.0.0.1")
    assert not guard.refused("10.0.0.2")
    now[0] = 61  # the first failure is out of the window
    assert not guard.refused("10.0.0.1")
    now[0] = 200
    assert not guard.refused("10.0.0.1")
    assert not LoginGuard(limit=0, window_seconds=60).refused("10.0.0.1")
