"""One engine, two front doors: what HTTP writes SQL reads (psycopg over the wire) and the
reverse, and the same search answers the same rows over both."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

DIM = 8


@pytest.fixture(scope="module")
def both(served, http):
    """A namespace made over HTTP and one made in SQL, 300 rows each, written by the other."""
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(300, DIM)).round(4).tolist()
    schema = {"schema": {"vector_dim": DIM, "vector_metric": "cosine", "attributes": {
        "title": {"type": "string", "full_text": True}, "year": {"type": "integer"},
        "tags": {"type": "array<string>"}}}}  # fmt: skip
    assert http.call("PUT", "/v1/namespaces/from_http", schema)[0] == 200
    words = ["storage", "search", "vector", "object", "hybrid", "engine"]
    rows = [
        (
            i,
            f"{words[i % 6]} {words[(i * 7) % 6]} number {i}",
            1990 + i % 35,
            [words[i % 4]],
            vectors[i],
        )
        for i in range(300)
    ]
    with psycopg.connect(served.dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE from_sql (id BIGINT PRIMARY KEY, title TEXT, year BIGINT, tags TEXT[], "
            f"vector FLOAT[{DIM}]) WITH (metric = 'cosine', full_text = 'title')"
        )
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO from_sql VALUES (%s, %s, %s, %s, %s)", rows)
    docs = [{"id": i, "vector": v, "attributes": {"title": t, "year": y, "tags": g}}
            for i, t, y, g, v in rows]  # fmt: skip
    assert http.call("POST", "/v1/namespaces/from_http/upsert", {"documents": docs}) == (
        200, {"count": 300}
    )  # fmt: skip
    return vectors


def test_http_writes_are_sql_tables(served, http, both):
    with psycopg.connect(served.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*), min(year), max(year) FROM from_http").fetchone() == (
            300, 1990, 2024
        )  # fmt: skip
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables")}  # fmt: skip
        assert {"from_http", "from_sql"} <= tables
        cols = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'from_http' ORDER BY ordinal_position"
        ).fetchall()
        assert [c for c, _ in cols] == ["id", "title", "year", "tags", "vector"]
        conn.execute("DELETE FROM from_http WHERE id >= 290")
        conn.execute("UPDATE from_http SET year = 1 WHERE id = 0")
    assert http.call("GET", "/v1/namespaces/from_http")[1]["stats"]["rows"] == 290
    _, body = http.call("POST", "/v1/namespaces/from_http/query", {"vector": both[0], "top_k": 1,
                        "filter": {"field": "year", "op": "eq", "value": 1}})  # fmt: skip
    assert [r["id"] for r in body["results"]] == [0]


def test_sql_tables_answer_over_http(served, http, both):
    _, listed = http.call("GET", "/v1/namespaces")
    assert {"from_http", "from_sql"} <= set(listed["namespaces"])
    _, body = http.call("GET", "/v1/namespaces/from_sql")
    assert body["schema"]["vector_dim"] == DIM and body["stats"]["rows"] == 300
    _, found = http.call("POST", "/v1/namespaces/from_sql/query", {"vector": both[5], "top_k": 1})
    assert found["results"][0]["id"] == 5


@pytest.mark.parametrize("name", ["from_sql", "from_http"])
def test_sql_and_http_give_the_same_answers(served, http, both, name):
    q = both[11]
    literal = "[" + ",".join(map(str, q)) + "]"
    with psycopg.connect(served.dsn, autocommit=True) as conn:
        sql_vector = conn.execute(
            f"SELECT id, _distance FROM vector_search('{name}', {literal}::FLOAT[], 10, "
            "filter := 'year >= 2000 AND list_contains(tags, ''search'')')"
        ).fetchall()
        sql_text = conn.execute(
            f"SELECT id, _score FROM text_search('{name}', 'hybrid storage', 10, "
            "filter := 'year < 2010')"
        ).fetchall()
        sql_hybrid = conn.execute(
            f"SELECT id, _score FROM hybrid_search('{name}', {literal}::FLOAT[], 'vector engine',"
            " 10)"
        ).fetchall()
    path = f"/v1/namespaces/{name}/query"
    where = {"type": "and", "conditions": [{"field": "year", "op": "gte", "value": 2000},
             {"field": "tags", "op": "contains", "value": "search"}]}  # fmt: skip
    _, http_vector = http.call("POST", path, {"vector": q, "top_k": 10, "filter": where})
    _, http_text = http.call("POST", path, {"full_text": {"field": "title", "query":
                             "hybrid storage"}, "top_k": 10, "filter": {"field": "year",
                             "op": "lt", "value": 2010}})  # fmt: skip
    _, http_hybrid = http.call("POST", path, {"vector": q, "full_text": {"field": "title",
                               "query": "vector engine"}, "top_k": 10})  # fmt: skip
    assert len(sql_vector) == 10 and len(sql_text) == 10 and len(sql_hybrid) == 10
    assert [r["id"] for r in http_vector["results"]] == [i for i, _ in sql_vector]
    assert [r["score"] for r in http_vector["results"]] == pytest.approx(
        [1 - d for _, d in sql_vector], abs=1e-6
    )  # fmt: skip
    assert [(r["id"], pytest.approx(r["score"], rel=1e-6)) for r in http_text["results"]] == [
        (i, s) for i, s in sql_text
    ]  # fmt: skip
    assert [(r["id"], pytest.approx(r["score"])) for r in http_hybrid["results"]] == [
        (i, s) for i, s in sql_hybrid
    ]  # fmt: skip


def test_concurrent_http_and_sql_writes_all_land(served, http):
    """Acknowledged writes from both doors at once: every one is there afterwards."""
    import threading

    from tests.http.client import Client

    schema = {"schema": {"vector_dim": 2, "attributes": {"who": {"type": "string"}}}}
    assert http.call("PUT", "/v1/namespaces/racing", schema)[0] == 200
    errors: list[object] = []

    def over_http(t: int) -> None:
        client = Client(served.http_port)
        for b in range(5):
            docs = [{"id": t * 1000 + b * 20 + i, "vector": [t, i], "attributes": {"who": "http"}}
                    for i in range(20)]  # fmt: skip
            status, body = client.call("POST", "/v1/namespaces/racing/upsert", {"documents": docs})
            if (status, body) != (200, {"count": 20}):
                errors.append(body)

    def over_sql() -> None:
        try:
            with psycopg.connect(served.dsn, autocommit=True) as conn:
                for i in range(50):
                    row = (100_000 + i, [1.0, float(i)])
                    conn.execute("INSERT INTO racing VALUES (%s, 'sql', %s)", row)
        except psycopg.Error as exc:
            errors.append(exc)

    threads = [threading.Thread(target=over_http, args=(t,)) for t in range(6)]
    threads.append(threading.Thread(target=over_sql))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with psycopg.connect(served.dsn, autocommit=True) as conn:
        counts = dict(conn.execute("SELECT who, count(*) FROM racing GROUP BY who").fetchall())
    assert counts == {"http": 600, "sql": 50}
    assert http.call("GET", "/v1/namespaces/racing")[1]["stats"]["rows"] == 650
