"""GET /metrics of `elacsym serve`: SQL over psycopg and HTTP queries move its counters by
exactly what they did, read back with prometheus_client's own text parser. A second test
runs the engine in this process (embedded statements, a fold, the disk cache)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from prometheus_client.parser import text_string_to_metric_families

import elacsym_sql
from elacsym_sql import metrics
from tests.http.client import Client

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

DOCS = [
    {"id": 10, "vector": [0.0, 1.0, 0.0], "attributes": {"title": "vector storage"}},
    {"id": 11, "vector": [0.0, 0.0, 1.0], "attributes": {"title": "hybrid engine"}},
]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(client: Client) -> Samples:
    status, body, headers = client.raw("GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=")
    return parse(body.decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_for(check: Callable[[], bool]) -> None:
    """The server notices a closed connection a moment after the client closed it."""
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, "the gauge did not settle"
        time.sleep(0.05)


def test_metrics_count_sql_and_http_work(served):
    scraper, client = Client(served.http_port), Client(served.http_port)
    before = scrape(scraper)
    with psycopg.connect(served.dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE m (id BIGINT PRIMARY KEY, title TEXT, vector FLOAT[3]) "
            "WITH (metric = 'cosine', full_text = 'title')"
        )
        conn.execute(
            "INSERT INTO m VALUES (1, 'object storage', [1, 0, 0]), (2, 'search', [0, 1, 0])"
        )
        conn.execute("INSERT INTO m VALUES (3, 'vector search', [1, 1, 0])")
        assert len(conn.execute("SELECT id FROM vector_search('m', [1, 0, 0], 2)").fetchall()) == 2
        assert conn.execute("SELECT id FROM text_search('m', 'storage', 2)").fetchall() == [(1,)]
        found = conn.execute("SELECT id FROM hybrid_search('m', [0, 1, 0], 'search', 2)")
        assert len(found.fetchall()) == 2
        during = scrape(scraper)
        assert value(during, "elacsym_connections", door="wire") == 1
    assert client.call("POST", "/v1/namespaces/m/upsert", {"documents": DOCS}) == (
        200,
        {"count": 2},
    )
    for query in (
        {"vector": [1, 0, 0], "top_k": 3},
        {"full_text": {"field": "title", "query": "search"}, "top_k": 3},
        {"vector": [1, 0, 0], "full_text": {"field": "title", "query": "engine"}, "top_k": 3},
        {"vector": [0, 0, 1], "top_k": 1},
    ):
        status, body = client.call("POST", "/v1/namespaces/m/query", query)
        assert status == 200 and body["results"], body
    stats = client.call("GET", "/v1/namespaces/m")[1]["stats"]
    after = scrape(scraper)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    statements = "elacsym_statement_seconds_count"
    assert moved(statements, door="wire", command="CREATE TABLE") == 1
    assert moved(statements, door="wire", command="INSERT") == 2
    assert moved(statements, door="wire", command="SELECT") == 3
    assert moved("elacsym_statement_seconds_sum", door="wire", command="INSERT") > 0
    searches = "elacsym_search_seconds_count"
    # hybrid runs a vector and a text search inside: counted once, as hybrid.
    assert [moved(searches, door="sql", kind=k) for k in ("vector", "text", "hybrid")] == [1, 1, 1]
    assert [moved(searches, door="http", kind=k) for k in ("vector", "text", "hybrid")] == [2, 1, 1]
    assert moved("elacsym_search_seconds_bucket", door="http", kind="vector", le="+Inf") == 2
    # Two INSERTs and one upsert, each one WAL object; nothing raced them.
    assert moved("elacsym_wal_appends_total", result="committed") == 3
    assert moved("elacsym_wal_appends_total", result="conflict") == 0
    # The indexer is off (conftest): every row written is still in the WAL tail.
    assert stats["unindexed_rows"] == 5
    assert value(after, "elacsym_unindexed_rows", namespace="m") == 5
    # Store calls match the store's own request counts (LocalStore counts one per call);
    # both count from the server's start, and nothing touched the store after describe.
    counted = {op: value(after, "elacsym_store_requests_total", op=op) for op in
               ("get", "put", "conditional_put", "head", "list", "delete")}  # fmt: skip
    billed = stats["storage_requests"]
    assert counted.pop("put") + counted.pop("conditional_put") == billed["put"]
    assert counted == {op: billed.get(op, 0) for op in counted}
    assert moved("elacsym_store_requests_total", op="conditional_put") >= 3  # WAL appends
    assert moved("elacsym_store_bytes_total", op="conditional_put") > 0
    assert moved("elacsym_store_bytes_total", op="get") > 0
    # Strong reads probe the next WAL object, which is not there yet.
    assert moved("elacsym_store_errors_total", op="get", kind="ObjectNotFound") > 0
    # The scraper and the client hold one keep-alive connection each.
    assert value(after, "elacsym_connections", door="http") == 2
    wait_for(lambda: value(scrape(scraper), "elacsym_connections", door="wire") == 0)


def test_metrics_is_in_the_api_document(served):
    status, body = Client(served.http_port).call("GET", "/openapi.json")
    assert status == 200 and "get" in body["paths"]["/metrics"]


def test_embedded_statements_folds_and_cache(tmp_path: Path):
    def now() -> Samples:
        return parse(metrics.exposition().decode())

    settings = {"cache_dir": str(tmp_path / "cache"), "indexer": False}
    before = now()
    with elacsym_sql.connect(str(tmp_path / "data"), **settings) as con:
        con.execute("CREATE TABLE e (id BIGINT PRIMARY KEY, vector FLOAT[2])")
        con.cursor().executemany("INSERT INTO e VALUES (?, ?)", [(i, [i, 1]) for i in range(50)])
        assert value(now(), "elacsym_unindexed_rows", namespace="e") == 50
        con.database.engine.fold("e")
        con.database.engine.compact("e", force=True)
        assert value(now(), "elacsym_unindexed_rows", namespace="e") == 0
        assert con.execute("SELECT id FROM vector_search('e', [3, 1], 1)").fetchall() == [(3,)]
        assert con.execute("SELECT count(*) FROM e").fetchall() == [(50,)]
    # The fold left its files in the disk cache, where the plain read found them (hits; the
    # search used the rows the fold kept in memory); a second engine with a cold cache of
    # its own has to fetch them (misses).
    cold = settings | {"cache_dir": str(tmp_path / "cold-cache")}
    with elacsym_sql.connect(str(tmp_path / "data"), **cold) as con:
        assert con.execute("SELECT id FROM vector_search('e', [3, 1], 1)").fetchall() == [(3,)]
    after = now()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("elacsym_statement_seconds_count", door="embedded", command="CREATE TABLE") == 1
    assert moved("elacsym_statement_seconds_count", door="embedded", command="INSERT") == 1
    assert moved("elacsym_statement_seconds_count", door="embedded", command="SELECT") == 3
    assert moved("elacsym_search_seconds_count", door="sql", kind="vector") == 2
    assert moved("elacsym_maintenance_seconds_count", job="fold") == 1
    assert moved("elacsym_maintenance_seconds_count", job="compact") == 1
    assert moved("elacsym_cache_lookups_total", result="miss") >= 1
    assert moved("elacsym_cache_lookups_total", result="hit") >= 1
    assert moved("elacsym_wal_appends_total", result="committed") == 1
