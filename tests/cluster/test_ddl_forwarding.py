"""DDL, explicit maintenance and several statements in one query string, sent to a member
that does not own the namespace, run at the owner and are answered as the owner answers
them (command tag, SQLSTATE); the member that forwarded them writes none of the namespace's
objects (decision 0090)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import elacsym_sql
from elacsym_sql.cluster import owner
from elacsym_sql.config import Settings
from elacsym_sql.metrics import FORWARDED
from elacsym_sql.testing.s3servers import MOTO_KEY, MOTO_SECRET, REGION, s3_client
from tests.cluster.nodes import ROOT, Node, elacsym_env, start_node, wait_for

pytestmark = pytest.mark.slow

# No member dies here: a long TTL keeps a loaded machine's late heartbeat from making a
# member the owner of everything for a moment (its writes would then be its own).
FAST = {"heartbeat_seconds": 0.5, "heartbeat_ttl_seconds": 20.0}
WIRE = 'elacsym_forwarded_writes_total{door="wire"}'
APPENDED = 'elacsym_wal_appends_total{result="committed"}'


def _owned_by(node_id: str, prefix: str, count: int) -> list[str]:
    names = [f"{prefix}{i}" for i in range(300)]
    return [n for n in names if owner(n, ["a", "b"]) == node_id][:count]


@pytest.fixture(scope="module")
def cluster(moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Members a and b on one moto bucket, shared by this module's tests."""
    bucket = f"t-{uuid.uuid4().hex[:20]}"
    s3_client(moto_server, MOTO_KEY, MOTO_SECRET).create_bucket(Bucket=bucket)
    tmp = tmp_path_factory.mktemp("ddl-forwarding")
    settings = Settings(
        data=f"s3://{bucket}/root",
        s3_endpoint=moto_server,
        s3_access_key_id=MOTO_KEY,
        s3_secret_access_key=MOTO_SECRET,
        s3_region=REGION,
        cache_dir=str(tmp / "cache"),
        indexer=False,
    )
    a = start_node(settings, "a", tmp, **FAST)
    b = start_node(settings, "b", tmp, **FAST)
    try:
        wait_for(lambda: a.members().keys() == {"a", "b"}, what="a sees b")
        wait_for(lambda: b.members().keys() == {"a", "b"}, what="b sees a")
        yield a, b, settings, tmp
    finally:
        a.stop()
        b.stop()


def _puts(node: Node, name: str) -> int:
    """PUTs `node` made of `name`'s objects (manifests, WAL, segments)."""
    return node.sql(f"SELECT namespace_puts FROM elacsym_stats('{name}')")[0][0]


def _tag(node: Node, sql: str) -> str:
    with node.connect() as conn:
        return conn.execute(sql).statusmessage or ""


def _error(node: Node, sql: str) -> tuple[str | None, str | None]:
    try:
        node.sql(sql)
    except psycopg.Error as exc:
        return exc.sqlstate, exc.diag.message_primary
    raise AssertionError(f"{sql!r} did not fail")


def test_ddl_at_a_non_owner_runs_at_the_owner(cluster):
    a, b, _, _ = cluster
    t, parent, keyless = _owned_by("b", "ddl", 3)
    forwarded = a.metric(WIRE)
    steps = [
        (f"CREATE TABLE {parent} (id BIGINT PRIMARY KEY, v TEXT)", "CREATE TABLE"),
        (
            f"CREATE TABLE {t} (id BIGINT PRIMARY KEY, v TEXT, p BIGINT REFERENCES {parent})",
            "CREATE TABLE",
        ),
        (f"CREATE TABLE IF NOT EXISTS {t} (id BIGINT PRIMARY KEY)", "CREATE TABLE"),
        (f"INSERT INTO {parent} VALUES (1, 'p')", "INSERT 0 1"),
        (f"INSERT INTO {t} VALUES (1, 'x', 1), (2, 'y', 1)", "INSERT 0 2"),
        (f"CREATE TABLE {keyless} (id BIGINT, v TEXT)", "CREATE TABLE"),
        (f"ALTER TABLE {keyless} ADD PRIMARY KEY (id)", "ALTER TABLE"),
        (f"CREATE INDEX {t}_v ON {t} (v)", "CREATE INDEX"),
        (f"COMMENT ON TABLE {t} IS 'forwarded'", "COMMENT"),
        (f"COMMENT ON COLUMN {t}.v IS 'a column'", "COMMENT"),
        (f"COMMENT ON INDEX {t}_v IS 'an index'", "COMMENT"),
        (f"DROP INDEX {t}_v", "DROP INDEX"),
        (f"TRUNCATE {t}", "TRUNCATE TABLE"),
    ]
    for sql, tag in steps:
        assert _tag(a, sql) == tag, sql
    assert a.metric(WIRE) == forwarded + len(steps)
    assert a.metric(APPENDED) == 0
    for name in (t, parent, keyless):
        assert _puts(a, name) == 0  # no manifest, no WAL object of a's
    for node in (a, b):  # every member sees what the owner did
        assert node.sql(f"SELECT count(*) FROM {t}") == [(0,)]
        assert node.sql(f"SELECT obj_description('{t}'::regclass, 'pg_class')") == [("forwarded",)]
        columns = node.sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            [t],
        )
        assert columns == [("id",), ("v",), ("p",)]
        key = "SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass AND indisprimary"
        assert node.sql(key, [keyless]) == [(1,)]

    # Errors are the owner's, SQLSTATE and message: the same as at the owner itself.
    before = a.metric(WIRE)
    for bad, sqlstate in (
        (f"CREATE TABLE {t} (id BIGINT PRIMARY KEY)", "42P07"),
        (f"ALTER TABLE {keyless} ADD PRIMARY KEY (v)", "42P16"),  # it has one
        (f"DROP TABLE {parent}", "2BP01"),  # t references it
        (f"DROP INDEX {t}_nope", "42704"),
    ):
        at_a, at_b = _error(a, bad), _error(b, bad)
        assert at_a == at_b and at_a[0] == sqlstate, (bad, at_a, at_b)
    assert a.metric(WIRE) == before + 3  # DROP INDEX of an unknown index: answered here
    assert _error(a, "DROP TABLE nosuchtable") == _error(b, "DROP TABLE nosuchtable")
    assert _error(a, "DROP TABLE nosuchtable")[0] == "42P01"
    assert _tag(a, "DROP TABLE IF EXISTS nosuchtable") == "DROP TABLE"

    # CREATE TABLE AS SELECT reading namespaces only: the owner runs it, tag SELECT n.
    copy = _owned_by("b", "ctas", 1)[0]
    assert _tag(a, f"CREATE TABLE {copy} AS SELECT * FROM {parent}") == "SELECT 1"
    assert b.sql(f"SELECT id, v FROM {copy}") == [(1, "p")]

    before = a.metric(WIRE)
    assert _tag(a, f"DROP TABLE {t}, {copy}") == "DROP TABLE"
    assert _tag(a, f"DROP TABLE {parent}, {keyless}") == "DROP TABLE"
    assert a.metric(WIRE) == before + 2
    assert a.metric(APPENDED) == 0
    for node in (a, b):
        assert not {t, parent, copy} & {
            r[0] for r in node.sql("SELECT * FROM elacsym_namespaces()")
        }


def test_ddl_naming_namespaces_of_two_owners_runs_where_it_arrives(cluster):
    a, b, _, _ = cluster
    [of_a], [of_b] = _owned_by("a", "two", 1), _owned_by("b", "two", 1)
    for name in (of_a, of_b):
        b.sql(f"CREATE TABLE {name} (id BIGINT PRIMARY KEY)")
    assert _puts(b, of_a) == 0  # created by a
    before = b.metric(WIRE)
    assert _tag(b, f"DROP TABLE {of_a}, {of_b}") == "DROP TABLE"
    assert b.metric(WIRE) == before  # not split between owners: dropped at b (0090)
    assert _error(a, f"SELECT * FROM {of_b}")[0] == "42P01"


def test_statements_of_one_query_string_are_forwarded_each(cluster):
    a, b, _, _ = cluster
    t = _owned_by("b", "multi", 1)[0]
    forwarded = a.metric(WIRE)
    with a.connect() as conn:  # one Query message (the simple protocol)
        conn.pgconn.exec_(
            f"CREATE TABLE {t} (id BIGINT PRIMARY KEY, v TEXT); "
            f"INSERT INTO {t} VALUES (1, 'x'); INSERT INTO {t} VALUES (2, 'y')".encode()
        )
        # Each statement is its own (decision 0090): the second fails, the first stays.
        failed = conn.pgconn.exec_(
            f"INSERT INTO {t} VALUES (3, 'z'); INSERT INTO {t} VALUES ('four', 'w')".encode()
        )
        assert failed.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"22P02"
    assert a.metric(WIRE) == forwarded + 5
    assert a.metric(APPENDED) == 0 and _puts(a, t) == 0
    assert b.sql(f"SELECT id, v FROM {t} ORDER BY id") == [(1, "x"), (2, "y"), (3, "z")]
    # A write reading the session's own temporary table runs here: the owner has none.
    with a.connect() as conn:
        conn.execute("CREATE TEMP TABLE src AS SELECT 9 AS id, 'tmp' AS v")
        assert conn.execute(f"INSERT INTO {t} SELECT id, v FROM src").rowcount == 1
    assert a.metric(WIRE) == forwarded + 5 and a.metric(APPENDED) == 1
    assert b.sql(f"SELECT v FROM {t} WHERE id = 9") == [("tmp",)]


def _forwarded_embedded() -> float:
    return FORWARDED.labels("embedded")._value.get()


def test_embedded_ddl_and_executemany_go_to_the_owner(cluster):
    _, b, settings, tmp = cluster
    t = _owned_by("b", "emb", 1)[0]
    mine = dataclasses.asdict(settings) | {"cache_dir": str(Path(tmp) / "embedded"), **FAST}
    con = elacsym_sql.connect(**mine | {"cluster": True})
    try:
        before = _forwarded_embedded()
        con.execute(f"CREATE TABLE {t} (id BIGINT PRIMARY KEY, v TEXT)")
        assert _forwarded_embedded() == before + 1
        # A plain INSERT's executemany is one atomic write, made here like a block's (0090)
        cur = con.executemany(f"INSERT INTO {t} VALUES (?, ?)", [(1, "x"), (2, "y")])
        assert cur.rowcount == 2 and _forwarded_embedded() == before + 1
        # any other statement runs once per row, each forwarded as execute() would be.
        cur = con.executemany(f"UPDATE {t} SET v = ? WHERE id = ?", [("X", 1), ("Y", 2)])
        assert cur.rowcount == 2 and _forwarded_embedded() == before + 3
        con.execute(f"COMMENT ON TABLE {t} IS 'embedded'")
        stats = con.database.engine.stats(t)["namespace_requests"]
        assert stats.get("put", 0) + stats.get("conditional_put", 0) == 1  # executemany's WAL
        con.execute(f"DROP TABLE {t}")
        assert _forwarded_embedded() == before + 5
        assert _error(b, f"SELECT * FROM {t}")[0] == "42P01"
    finally:
        con.close()


def test_maintenance_at_a_non_owner_runs_at_the_owner(cluster):
    a, b, settings, tmp = cluster
    t = _owned_by("b", "maint", 1)[0]
    a.sql(f"CREATE TABLE {t} (id BIGINT PRIMARY KEY, v TEXT)")
    a.sql(f"INSERT INTO {t} VALUES (1, 'x'), (2, 'y')")
    # SQL: the owner folds, compacts and collects; its stats are the answer.
    found = a.sql(f"SELECT unindexed_rows, namespace_puts FROM elacsym_compact('{t}')")
    [(unindexed, owners_puts)] = found
    assert unindexed == 0 and owners_puts == _puts(b, t) > 0
    version = b.sql(f"SELECT manifest_version FROM elacsym_stats('{t}')")[0][0]
    assert a.sql(f"SELECT unindexed_rows FROM elacsym_stats('{t}')") == [(0,)]

    # HTTP: the same, forwarded like a write.
    a.sql(f"INSERT INTO {t} VALUES (3, 'z')")
    status, stats = a.call("POST", f"/v1/namespaces/{t}/compact", {})
    assert status == 200 and stats["unindexed_rows"] == 0
    assert b.sql(f"SELECT manifest_version FROM elacsym_stats('{t}')")[0][0] > version

    # The command line on the cluster's root asks the owner too.
    a.sql(f"INSERT INTO {t} VALUES (4, 'w')")
    stats = json.loads(_cli(settings, tmp, "compact", t))
    mine = stats["namespace_requests"]
    assert stats["unindexed_rows"] == 0
    assert mine.get("put", 0) + mine.get("conditional_put", 0) == _puts(b, t)  # b's counts
    assert _puts(a, t) == 0  # a wrote none of t's objects

    # An unknown namespace: the owner's 42P01 (404 over HTTP).
    missing = _owned_by("b", "nomaint", 1)[0]
    assert _error(a, f"SELECT * FROM elacsym_compact('{missing}')")[0] == "42P01"
    assert a.call("POST", f"/v1/namespaces/{missing}/compact", {})[0] == 404


def _cli(settings: Settings, tmp: Path, *args: str) -> str:
    """`elacsym <args>` on the cluster's root, as another process; its stdout."""
    env = elacsym_env(settings, tmp / "cli", **FAST)
    done = subprocess.run(
        [sys.executable, "-m", "elacsym_sql.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
