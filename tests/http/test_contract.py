"""The HTTP/JSON contract of HTTP_API.md: every endpoint, status and error shape, against
`elacsym serve` over HTTP."""

from __future__ import annotations

import json

import pytest

SCHEMA = {
    "schema": {
        "vector_dim": 3,
        "vector_metric": "cosine",
        "attributes": {
            "title": {"type": "string", "full_text": True},
            "body": {"type": "string", "full_text": {"language": "english", "stemming": True,
                     "remove_stopwords": True, "case_sensitive": False}},
            "year": {"type": "integer"},
            "price": {"type": "float"},
            "ok": {"type": "boolean"},
            "tags": {"type": "array<string>"},
        },
    }
}  # fmt: skip
DOCS = [
    {"id": 1, "vector": [1.0, 0.0, 0.0], "attributes": {"title": "object storage",
     "body": "segments on object storage", "year": 2019, "price": 1.5, "ok": True,
     "tags": ["db", "s3"]}},
    {"id": 2, "vector": [0.0, 1.0, 0.0], "attributes": {"title": "search engines",
     "body": "the beginning of search", "year": 2021, "price": 7, "ok": False,
     "tags": ["search"]}},
    {"id": 3, "vector": [0.7, 0.7, 0.0], "attributes": {"title": "hybrid storage search",
     "body": "hybrid search over object storage", "year": 2023}},
    {"id": 4, "vector": None, "attributes": {"title": "no vector", "year": 2024}},
]  # fmt: skip


@pytest.fixture(scope="module")
def docs(http):
    assert http.call("PUT", "/v1/namespaces/docs", SCHEMA) == (
        200, {"namespace": "docs", "created": True}
    )  # fmt: skip
    assert http.call("POST", "/v1/namespaces/docs/upsert", {"documents": DOCS}) == (
        200, {"count": 4}
    )  # fmt: skip
    return "/v1/namespaces/docs"


def error(http, method, path, body=None, status=None, code=None, words=""):
    got_status, got = http.call(method, path, body)
    assert (got_status, got.get("code")) == (status, code), got
    assert set(got) <= {"error", "code", "detail", "hint"} and words in got["error"], got
    return got


def test_health(http, docs):
    status, body = http.call("GET", "/health")
    assert status == 200
    assert body["status"] == "healthy" and body["version"] == "0.1.0"
    assert body["namespaces"] >= 1 and isinstance(body["node_id"], str)


def test_unknown_path_and_wrong_method(http):
    error(http, "GET", "/v2/nothing", status=404, code="42704", words="/v2/nothing")
    error(http, "POST", "/health", {}, status=405, code="0A000")
    error(http, "PATCH", "/v1/namespaces/docs", {}, status=405, code="0A000")
    error(http, "GET", "/v1/namespaces/docs/query", status=405, code="0A000")


def test_create_validates_the_whole_schema_before_writing(http):
    bad = [
        ({"schema": {"vector_dim": "3"}}, 422, "42804", "schema.vector_dim"),
        ({"schema": {"vector_dim": 3, "vector_metric": "hamming"}}, 400, "22023", "metric"),
        ({"schema": {"vector_dim": 0}}, 400, "22023", "vector_dim"),
        ({"schema": {"vector_dim": 3, "attributes": {"a": {"type": "date"}}}}, 400, "22023",
         "schema.attributes.a.type"),
        ({"schema": {"vector_dim": 3, "attributes": {"a": {"type": "string",
          "full_text": {"language": "tamil"}}}}}, 400, "22023", "no stopword list"),
        ({"schema": {"vector_dim": 3, "attributes": {"a": {"type": "string",
          "full_text": {"language": "klingon"}}}}}, 400, "22023", "klingon"),
        ({"schema": {"vector_dim": 3, "attributes": {"a": {"type": "integer",
          "full_text": True}}}}, 400, "22023", "string attribute"),
        ({"schema": {"vector_dim": 3, "attributes": {"a": {"type": "string", "full_text": True},
          "b": {"type": "string", "full_text": {"stemming": False}}}}}, 400, "0A000", "different"),
        ({"schema": {"vector_dim": 3, "attributes": {"id": {"type": "string"}}}}, 422, "42804",
         "built in"),
        ({"schema": {"vector_dim": 3, "extra": 1}}, 422, "42804", "extra"),
        ({"vector_dim": 3}, 422, "42804", "vector_dim"),
    ]  # fmt: skip
    for body, status, code, words in bad:
        error(http, "PUT", "/v1/namespaces/bad", body, status=status, code=code, words=words)
    error(http, "GET", "/v1/namespaces/bad", status=404, code="42P01")  # nothing was written
    status, raw, _ = http.raw("PUT", "/v1/namespaces/bad", b'{"schema": ', {})
    assert status == 400 and json.loads(raw)["code"] == "22P02"
    error(http, "PUT", "/v1/namespaces/" + "x" * 64, SCHEMA, status=400, code="42602")


def test_original_spellings(http):
    spelled = {"schema": {"vector_dim": 2, "vector_metric": "dot", "attributes": {
        "a": {"attr_type": "int", "indexed": True}, "b": {"attr_type": "bool"},
        "c": {"type": "array_string"}, "d": {"type": "string", "full_text": {"Simple": False}},
        "e": {"type": "string", "full_text": {"Simple": True, }}}}}  # fmt: skip
    assert http.call("PUT", "/v1/namespaces/spelled", spelled)[0] == 200
    status, body = http.call("GET", "/v1/namespaces/spelled")
    attrs = body["schema"]["attributes"]
    assert status == 200 and body["schema"]["vector_metric"] == "dot"
    assert (attrs["a"]["type"], attrs["b"]["type"], attrs["c"]["type"]) == (
        "integer", "boolean", "array<string>"
    )  # fmt: skip
    assert "full_text" not in attrs["d"] and attrs["e"]["full_text"]["language"] == "english"
    error(http, "PUT", "/v1/namespaces/spelled", spelled, status=409, code="42P07")
    assert http.call("DELETE", "/v1/namespaces/spelled") == (
        200, {"namespace": "spelled", "dropped": True}
    )  # fmt: skip
    error(http, "DELETE", "/v1/namespaces/spelled", status=404, code="42P01")


def test_list_paginates(http, docs):
    for name in ("page_a", "page_b", "page_c"):
        assert http.call("PUT", f"/v1/namespaces/{name}", SCHEMA)[0] == 200
    status, first = http.call("GET", "/v1/namespaces?limit=2")
    assert status == 200 and len(first["namespaces"]) == 2 and first["next_cursor"]
    seen = list(first["namespaces"])
    cursor = first["next_cursor"]
    while cursor:
        _, page = http.call("GET", f"/v1/namespaces?limit=2&cursor={cursor}")
        seen += page["namespaces"]
        cursor = page["next_cursor"]
    assert seen == sorted(seen) and {"docs", "page_a", "page_b", "page_c"} <= set(seen)
    error(http, "GET", "/v1/namespaces?limit=0", status=400, code="22023")
    error(http, "GET", "/v1/namespaces?limit=x", status=400, code="22023")
    for name in ("page_a", "page_b", "page_c"):
        assert http.call("DELETE", f"/v1/namespaces/{name}")[0] == 200


def test_describe(http, docs):
    status, body = http.call("GET", docs)
    assert status == 200 and body["namespace"] == "docs"
    assert body["schema"]["vector_dim"] == 3
    assert body["schema"]["attributes"]["tags"] == {"type": "array<string>"}
    assert body["stats"]["rows"] == 4
    assert {"segments", "unindexed_rows"} <= set(body["stats"])


def test_upsert_mistakes_write_nothing(http, docs):
    path = f"{docs}/upsert"
    cases = [
        ({"documents": [{"id": 9, "vector": [1, 2]}]}, 400, "22000", "expected 3 dimensions"),
        ({"documents": [{"id": 9, "attributes": {"year": "2020"}}]}, 422, "42804",
         'document 9: attribute "year"'),
        ({"documents": [{"id": 9, "attributes": {"colour": 1}}]}, 422, "42703", "colour"),
        ({"documents": [{"id": 9}, {"id": 9}]}, 422, "23505", "duplicate"),
        ({"documents": [{"id": -1}]}, 422, "42804", "documents[0].id"),
        ({"documents": [{"id": 9, "vector": [1, "x", 3]}]}, 422, "42804", "vector"),
        ({"documents": [{"id": 9, "attributes": []}]}, 422, "42804", "documents[0].attributes"),
        ({"documents": {}}, 422, "42804", "documents"),
        ({"docs": []}, 422, "42804", "docs"),
    ]  # fmt: skip
    for body, status, code, words in cases:
        error(http, "POST", path, body, status=status, code=code, words=words)
    error(http, "POST", "/v1/namespaces/none/upsert", {"documents": []}, status=404, code="42P01")
    status, raw, _ = http.raw("POST", path, b'{"documents": [{"id": 1, "vector": [NaN, 0, 0]}]}')
    assert status == 400 and json.loads(raw)["code"] == "22P02"
    assert http.call("GET", docs)[1]["stats"]["rows"] == 4
    assert http.call("POST", path, {"documents": [{"id": 5, "attributes": {"price": 3}}]}) == (
        200, {"count": 1}
    )  # fmt: skip
    assert http.call("POST", f"{docs}/delete", {"ids": [5]}) == (200, {"deleted": 1})


def test_body_over_the_limit_is_413(tmp_path):
    from tests.http.client import Client
    from tests.http.conftest import start_serve, stop_serve

    proc, small = start_serve(tmp_path, "--http-max-body-bytes", "1000")
    try:
        client = Client(small.http_port)
        assert client.call("PUT", "/v1/namespaces/t", SCHEMA)[0] == 200
        docs = {"documents": [{"id": i, "vector": [0.5, 0.5, 0.5]} for i in range(100)]}
        error(client, "POST", "/v1/namespaces/t/upsert", docs, status=413, code="54000")
        assert client.call("GET", "/v1/namespaces/t")[1]["stats"]["rows"] == 0
    finally:
        stop_serve(proc)


def test_vector_query(http, docs):
    status, body = http.call("POST", f"{docs}/query", {"vector": [1, 0, 0], "top_k": 2})
    assert status == 200 and body["score_kind"] == "similarity" and body["took_ms"] >= 0
    assert [r["id"] for r in body["results"]] == [1, 3]
    assert body["results"][0]["score"] == pytest.approx(1.0, abs=1e-6)
    assert body["results"][0]["attributes"] == DOCS[0]["attributes"]
    assert "vector" not in body["results"][0]
    _, body = http.call("POST", f"{docs}/query", {"vector": [1, 0, 0], "top_k": 1,
                        "include_vector": True, "include_attributes": ["year"]})  # fmt: skip
    assert body["results"] == [
        {"id": 1, "score": pytest.approx(1.0, abs=1e-6), "attributes": {"year": 2019},
         "vector": [1.0, 0.0, 0.0]}
    ]  # fmt: skip


def test_filters_are_applied_inside_the_search(http, docs):
    newer = {"type": "and", "conditions": [{"field": "year", "op": "gte", "value": 2020}]}
    _, body = http.call("POST", f"{docs}/query", {"vector": [1, 0, 0], "top_k": 2,
                        "filter": newer})  # fmt: skip
    assert [r["id"] for r in body["results"]] == [3, 2]  # 2 qualifying rows although 1 is nearest
    bare = {"field": "tags", "op": "contains_any", "value": ["s3", "search"]}
    _, body = http.call("POST", f"{docs}/query", {"vector": [1, 0, 0], "filter": bare})
    assert [r["id"] for r in body["results"]] == [1, 2]
    nested = {
        "type": "or",
        "conditions": [
            {"field": "price", "op": "gt", "value": 5},
            {"type": "and", "conditions": [{"field": "ok", "op": "eq", "value": True}]},
        ],
    }
    _, body = http.call("POST", f"{docs}/query", {"vector": [1, 0, 0], "filter": nested})
    assert sorted(r["id"] for r in body["results"]) == [1, 2]


def test_full_text_and_hybrid_queries(http, docs):
    _, body = http.call("POST", f"{docs}/query",
                        {"full_text": {"field": "title", "query": "storage"}})  # fmt: skip
    assert body["score_kind"] == "bm25" and sorted(r["id"] for r in body["results"]) == [1, 3]
    _, body = http.call("POST", f"{docs}/query", {"full_text": {"fields": ["title", "body"],
                        "query": "search", "weights": {"title": 2.0}}})  # fmt: skip
    assert sorted(r["id"] for r in body["results"]) == [2, 3]
    hybrid = {
        "vector": [0.7, 0.7, 0],
        "full_text": {"field": "body", "query": "hybrid search"},
        "top_k": 3,
        "filter": {"field": "year", "op": "gte", "value": 2020},
    }
    _, body = http.call("POST", f"{docs}/query", hybrid)
    assert body["score_kind"] == "rrf" and body["results"][0]["id"] == 3
    assert body["results"][0]["score"] == pytest.approx(2 / 61)
    _, body = http.call("POST", f"{docs}/query", {**hybrid, "fusion": "minmax", "alpha": 0.5})
    assert body["score_kind"] == "minmax" and body["results"][0]["id"] == 3


def test_query_mistakes(http, docs):
    path = f"{docs}/query"
    cases = [
        ({"top_k": 3}, 400, "22023", "vector"),
        ({"vector": [1, 0, 0], "top_k": 0}, 400, "22023", "from 1 to 10000"),
        ({"vector": [1, 0, 0], "top_k": 10_001}, 400, "22023", "from 1 to 10000"),
        ({"vector": [1, 0, 0], "top_k": "5"}, 422, "42804", "top_k"),
        ({"vector": [1, 0]}, 400, "22000", "expected 3 dimensions"),
        ({"vector": "1,0,0"}, 422, "42804", "vector"),
        ({"vector": [1, 0, 0], "filter": {"field": "nope", "op": "eq", "value": 1}}, 422,
         "42703", "nope"),
        ({"vector": [1, 0, 0], "filter": {"field": "year", "op": "eq", "value": "x"}}, 422,
         "42804", "must be a number"),
        ({"vector": [1, 0, 0], "filter": {"field": "year", "op": "near", "value": 1}}, 422,
         "42804", "filter.op"),
        ({"full_text": {"field": "year", "query": "x"}}, 422, "42703", "year"),
        ({"full_text": {"field": "title"}}, 422, "42804", "full_text.query"),
        ({"vector": [1, 0, 0], "fusion": "max"}, 400, "22023", "fusion"),
        ({"vector": [1, 0, 0], "topk": 3}, 422, "42804", "topk"),
        ({"vector": [1, 0, 0], "include_attributes": ["nope"]}, 422, "42804", "nope"),
    ]  # fmt: skip
    for body, status, code, words in cases:
        error(http, "POST", path, body, status=status, code=code, words=words)
    error(http, "POST", "/v1/namespaces/none/query", {"vector": [1]}, status=404, code="42P01")


def test_delete_by_ids_and_by_filter(http, docs):
    upsert = {"documents": [{"id": 10 + i, "attributes": {"year": 1900 + i}} for i in range(5)]}
    assert http.call("POST", f"{docs}/upsert", upsert) == (200, {"count": 5})
    assert http.call("POST", f"{docs}/delete", {"ids": [10, 11, 99]}) == (200, {"deleted": 2})
    old = {"field": "year", "op": "lt", "value": 1950}
    assert http.call("POST", f"{docs}/delete", {"filter": old}) == (200, {"deleted": 3})
    assert http.call("GET", docs)[1]["stats"]["rows"] == 4
    error(http, "POST", f"{docs}/delete", {}, status=422, code="42804", words="ids")
    error(http, "POST", f"{docs}/delete", {"ids": [1], "filter": old}, status=422, code="42804")


def test_docs_and_openapi(http):
    status, spec = http.call("GET", "/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    assert {
        "/health",
        "/v1/namespaces",
        "/v1/namespaces/{ns}",
        "/v1/namespaces/{ns}/upsert",
        "/v1/namespaces/{ns}/query",
        "/v1/namespaces/{ns}/delete",
    } <= set(spec["paths"])
    status, page, headers = http.raw("GET", "/docs")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"/v1/namespaces/{ns}/query" in page and b"/openapi.json" in page


@pytest.mark.parametrize(("metric", "best_score"), [("l2", 1.0), ("dot", 2.0), ("cosine", 1.0)])
def test_every_metric_serves_queries(http, metric, best_score):
    path = f"/v1/namespaces/metric_{metric}"
    schema = {"schema": {"vector_dim": 2, "vector_metric": metric}}
    assert http.call("PUT", path, schema)[0] == 200
    docs = [{"id": 1, "vector": [1, 1]}, {"id": 2, "vector": [-1, 0]}, {"id": 3, "vector": None}]
    assert http.call("POST", f"{path}/upsert", {"documents": docs}) == (200, {"count": 3})
    _, body = http.call("POST", f"{path}/query", {"vector": [1, 1], "include_attributes": []})
    assert [r["id"] for r in body["results"]] == [1, 2]
    assert body["results"][0] == {"id": 1, "score": pytest.approx(best_score), "attributes": {}}
    assert http.call("DELETE", path)[0] == 200
