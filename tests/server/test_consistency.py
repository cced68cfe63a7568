"""Strong reads by default, eventual reads on request (issue 11 item 5, decision 0061).

A node (wire server and HTTP API over one Database, indexer on, a 2-second watch) on moto
via HTTP, and a writer in another process: an embedded connection on the same root. A
strong read sees the other process's write at once; an eventual read answers from the
node's cached state without probing storage (it shows the old rows), and sees the write
only once the node has looked again (its reads are traffic, and traffic brings looks
back).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from elacsym_sql.config import Settings
from elacsym_sql.errors import InvalidParameterValue
from elacsym_sql.http import BackgroundHttpServer
from elacsym_sql.server import BackgroundServer
from elacsym_sql.sql import Database
from tests.helpers import open_connection, rows
from tests.http.client import Client

TABLE = "CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT, vector FLOAT[2])"
WRITER = """
import json, sys
import elacsym_sql
con = elacsym_sql.connect(**json.loads(sys.argv[1]))
print("ready", flush=True)
for line in sys.stdin:
    con.execute(line)
    print("ack", flush=True)
con.close()
"""


@pytest.fixture
def backend() -> str:
    return "s3"


@dataclasses.dataclass
class Node:
    db: Database
    dsn: str
    http: Client

    def requests(self) -> int:
        """Requests this node made for namespace kv so far."""
        return sum(self.db.engine.store.requests_of("kv").values())

    def asleep(self) -> None:
        """Wait until the node has made its last look at kv (it costs nothing from now)."""
        deadline = time.monotonic() + 120
        while self.db.engine.background.awake("kv"):
            assert time.monotonic() < deadline, "the node kept looking"
            time.sleep(0.05)


@pytest.fixture
def node(make_settings: Callable[..., Settings]) -> Iterator[Node]:
    db = Database(make_settings(indexer=True, idle_watch_seconds=2))
    wire = BackgroundServer(db).start()
    http = BackgroundHttpServer(db.api).start()
    try:
        yield Node(
            db, f"host=127.0.0.1 port={wire.port} user=tester dbname=elacsym", Client(http.port)
        )
    finally:
        http.stop()
        wire.stop()
        db.close()


class Writer:
    """An embedded connection in a process of its own, running one statement per call."""

    def __init__(self, settings: Settings, script: str) -> None:
        fields = dataclasses.asdict(
            dataclasses.replace(settings, cache_dir=settings.cache_dir + "-writer")
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("ELACSYM_")}
        self.proc = subprocess.Popen(
            [sys.executable, script, json.dumps(fields)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env,
        )  # fmt: skip
        assert self._line() == "ready"

    def _line(self) -> str:
        line = self.proc.stdout.readline().strip()
        if not line:
            pytest.fail(f"the writer died: {self.proc.stderr.read()}")
        return line

    def run(self, sql: str) -> None:
        """Run `sql` there; returns once it is acknowledged."""
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()
        assert self._line() == "ack"

    def close(self) -> None:
        self.proc.stdin.close()
        assert self.proc.wait(60) == 0, self.proc.stderr.read()


@pytest.fixture
def writer(make_settings: Callable[..., Settings], tmp_path, node: Node) -> Iterator[Writer]:
    with psycopg.connect(node.dsn, autocommit=True) as con:
        con.execute(TABLE)
        con.execute("INSERT INTO kv VALUES (1, 'a', [1, 0])")
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    w = Writer(make_settings(indexer=False), str(script))
    try:
        yield w
    finally:
        w.close()


def _ids(node: Node, consistency: str) -> list[int]:
    body = {"vector": [1, 0], "top_k": 100, "consistency": consistency}
    status, answer = node.http.call("POST", "/v1/namespaces/kv/query", body)
    assert status == 200, answer
    return sorted(r["id"] for r in answer["results"])


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "never became true"
        time.sleep(0.1)


def test_strong_reads_see_another_process_write_at_once(node, writer):
    with psycopg.connect(node.dsn, autocommit=True) as con:
        assert con.execute("SELECT count(*) FROM kv").fetchall() == [(1,)]
        node.asleep()  # nothing cached is fresh any more; no look will come by itself
        writer.run("INSERT INTO kv VALUES (2, 'b', [0, 1])")
        assert con.execute("SHOW elacsym.consistency").fetchall() == [("strong",)]
        assert con.execute("SELECT count(*) FROM kv").fetchall() == [(2,)]
        writer.run("INSERT INTO kv VALUES (3, 'c', [1, 1])")
        assert _ids(node, "strong") == [1, 2, 3]
        writer.run("INSERT INTO kv VALUES (4, 'd', [0, 1])")
        found = con.execute("SELECT id FROM vector_search('kv', [0.0, 1.0]::FLOAT[], 10)")
        assert sorted(r[0] for r in found.fetchall()) == [1, 2, 3, 4]  # the direct path


def test_eventual_reads_skip_the_probe_and_see_writes_after_a_look(node, writer):
    with psycopg.connect(node.dsn, autocommit=True) as con:
        con.execute("SET elacsym.consistency = 'eventual'")
        assert con.execute("SELECT count(*) FROM kv").fetchall() == [(1,)]
        # SQL through DuckDB: stale, and free, until a look
        node.asleep()
        writer.run("INSERT INTO kv VALUES (2, 'b', [0, 1])")
        # stale: the read did not probe (a probe would have found row 2); the read is
        # traffic, so the node looks again soon (tests/engine/test_idle.py counts 0 requests)
        assert con.execute("SELECT count(*) FROM kv").fetchall() == [(1,)]
        _until(lambda: con.execute("SELECT count(*) FROM kv").fetchall() == [(2,)])
        # the HTTP API's "consistency" field
        node.asleep()
        writer.run("INSERT INTO kv VALUES (3, 'c', [1, 1])")
        assert _ids(node, "eventual") == [1, 2]
        _until(lambda: _ids(node, "eventual") == [1, 2, 3])
        # a plain search statement (the direct path)
        node.asleep()
        writer.run("INSERT INTO kv VALUES (4, 'd', [0, 1])")
        search = "SELECT id FROM vector_search('kv', [0.0, 1.0]::FLOAT[], 10)"
        assert sorted(r[0] for r in con.execute(search).fetchall()) == [1, 2, 3]
        _until(lambda: sorted(r[0] for r in con.execute(search).fetchall()) == [1, 2, 3, 4])
        # back to strong: the next write elsewhere is seen at once
        con.execute("RESET elacsym.consistency")
        node.asleep()
        writer.run("INSERT INTO kv VALUES (5, 'e', [1, 0])")
        assert con.execute("SELECT count(*) FROM kv").fetchall() == [(5,)]


def test_consistency_as_a_startup_option_and_bad_values(node, writer):
    options = "-c elacsym.consistency=eventual"
    with psycopg.connect(node.dsn, autocommit=True, options=options) as con:
        assert con.execute("SHOW elacsym.consistency").fetchall() == [("eventual",)]
        con.execute("SET elacsym.consistency TO STRONG")  # any case, as Postgres's enums
        assert con.execute("SHOW elacsym.consistency").fetchall() == [("strong",)]
        with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
            con.execute("SET elacsym.consistency = 'sometimes'")
        assert err.value.diag.message_hint == "Available values: strong, eventual."
    with pytest.raises(psycopg.OperationalError, match="sometimes"):
        psycopg.connect(node.dsn, options="-c elacsym.consistency=sometimes")
    status, answer = node.http.call(
        "POST", "/v1/namespaces/kv/query", {"vector": [1, 0], "consistency": "sometimes"}
    )
    assert (status, answer["code"]) == (400, "22023") and "consistency" in answer["error"]


def test_the_setting_is_every_session_default(make_settings, node, writer):
    with pytest.raises(InvalidParameterValue, match="consistency"):
        make_settings(consistency="sometimes")
    con = open_connection(make_settings(consistency="eventual"))
    try:
        assert rows(con, "SHOW elacsym.consistency") == [("eventual",)]
        assert rows(con, "SELECT count(*) FROM kv") == [(1,)]
    finally:
        con.close()


def test_stats_count_each_namespace_requests(node, writer):
    with psycopg.connect(node.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE other (id BIGINT PRIMARY KEY)")
        node.asleep()
        before = node.requests()
        for _ in range(3):
            con.execute("SELECT count(*) FROM other").fetchall()  # not kv's requests
        assert node.requests() == before
        stats = "SELECT namespace_requests, namespace_gets, namespace_puts FROM elacsym_stats('kv')"
        total, gets, puts = con.execute(stats).fetchone()
        assert before < total <= node.requests()
        assert gets > 0 and puts > 0  # the creation and the first row were written here
