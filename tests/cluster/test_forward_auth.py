"""Members whose servers check passwords (--auth scram) forward writes when they share a
cluster secret: a forwarding member logs in to the owner as the client's own user, so the
write runs there with that user's rights and no others; the forwarding door takes only
passwords made from the secret (decision 0084)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from elacsym_sql.cluster import owner
from elacsym_sql.cluster.forward_login import forward_password
from tests.cluster.nodes import Node, start_node, wait_for

FAST = {"heartbeat_seconds": 0.5, "heartbeat_ttl_seconds": 3.0}
WIRE = 'elacsym_forwarded_writes_total{door="wire"}'
APPENDED = 'elacsym_wal_appends_total{result="committed"}'
SECRET = "members-only"


def _login(node: Node, user: str, password: str, **extra: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host="127.0.0.1", port=node.pg_port, user=user, password=password, autocommit=True, **extra
    )


def _sqlstate(conn: psycopg.Connection[Any], sql: str) -> str | None:
    try:
        conn.execute(sql)
    except psycopg.Error as exc:
        return exc.sqlstate
    return None


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["s3"])
def test_forwarding_with_password_auth(make_settings, tmp_path):
    files = tmp_path / "alices"
    files.mkdir()
    (files / "rows.csv").write_text("id,v\n7,from a file\n")
    users = tmp_path / "users.toml"
    users.write_text(
        f'[users]\nalice = "alice-pw"\nbob = "bob-pw"\n[allow_read]\nalice = ["{files}"]\n'
    )
    login = {"auth": "scram", "users": str(users), "cluster_secret": SECRET}
    settings = make_settings()
    table = next(f"p{i}" for i in range(100) if owner(f"p{i}", ["a", "b"]) == "b")
    a = start_node(settings, "a", tmp_path, **FAST, **login)
    b = start_node(settings, "b", tmp_path, **FAST, **login)
    read_file = f"INSERT INTO {table} SELECT id, v FROM read_csv('{files}/rows.csv')"
    try:
        with _login(a, "alice", "alice-pw") as alice, _login(a, "bob", "bob-pw") as bob:
            wait_for(
                lambda: len(alice.execute("SELECT * FROM elacsym_cluster()").fetchall()) == 2,
                what="a sees b",
            )
            alice.execute(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, v TEXT)")  # forwarded
            cur = alice.execute(f"INSERT INTO {table} VALUES (1, 'one') RETURNING id, v")
            assert (cur.statusmessage, cur.fetchall()) == ("INSERT 0 1", [(1, "one")])
            with alice.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                copy.write("2\ttwo\n")
            # alice's rights reach her directory at the owner too.
            assert alice.execute(read_file).statusmessage == "INSERT 0 1"
            assert a.metric(WIRE) == 4 and a.metric(APPENDED) == 0 and b.metric(APPENDED) == 3
            # bob's do not: refused at a, never sent.
            assert _sqlstate(bob, read_file) == "42501"
            assert a.metric(WIRE) == 4
            assert bob.execute(f"DELETE FROM {table} WHERE id = 2").statusmessage == "DELETE 1"
            assert a.metric(WIRE) == 5 and a.metric(APPENDED) == 0
            rows = bob.execute(f"SELECT id, v FROM {table} ORDER BY id").fetchall()
            assert rows == [(1, "one"), (7, "from a file")]
        # The forwarding door: only a password made from the secret opens it, and only as
        # the user it was made for, with that user's rights.
        forwarded = {"application_name": "elacsym-forwarded-by-a"}
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            _login(b, "bob", "bob-pw", **forwarded)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            _login(b, "alice", forward_password("a guess", "alice"), **forwarded)
        with _login(b, "bob", forward_password(SECRET, "bob"), **forwarded) as member:
            assert _sqlstate(member, read_file) == "42501"
            assert member.execute("SELECT current_user").fetchone() == ("bob",)
    finally:
        a.stop()
        b.stop()
