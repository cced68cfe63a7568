"""The API's OpenAPI 3.1 description (served at /openapi.json) and the /docs page.

Written out rather than generated: the handlers read bodies themselves (validation lives
in the engine API), so there are no models to generate it from.
"""

from __future__ import annotations

import html
import json
from typing import Any

from ..engine import DEFAULT_ALPHA, DEFAULT_RRF_K, MAX_K
from ..schema import MAX_VECTOR_DIM

_ERROR = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "code": {"type": "string", "description": "PostgreSQL SQLSTATE"},
        "detail": {"type": "string"},
        "hint": {"type": "string"},
    },
    "required": ["error", "code"],
}
_FILTER = {
    "description": 'A condition {"field", "op", "value"} or a group {"type": "and"|"or", '
    '"conditions": [...]}; ops eq ne gt gte lt lte contains containsany (contains_any)',
    "type": "object",
}
_ATTRIBUTE = {
    "type": "object",
    "properties": {
        "type": {"enum": ["string", "integer", "float", "boolean", "array<string>",
                          "int", "bool", "array_string"]},
        "attr_type": {"description": "the original README's spelling of type"},
        "indexed": {"description": "accepted and ignored: every attribute is filterable"},
        "full_text": {
            "description": 'true, {} (english, stemming, stopwords), {"language", "stemming", '
            '"remove_stopwords", "case_sensitive"} or {"Simple": true|false}'
        },
    },
}  # fmt: skip
_SCHEMAS: dict[str, Any] = {
    "Error": _ERROR,
    "Filter": _FILTER,
    "CreateNamespace": {
        "type": "object",
        "required": ["schema"],
        "properties": {
            "schema": {
                "type": "object",
                "required": ["vector_dim"],
                "properties": {
                    "vector_dim": {"type": "integer", "minimum": 1, "maximum": MAX_VECTOR_DIM},
                    "vector_metric": {"enum": ["cosine", "l2", "dot"], "default": "cosine"},
                    "attributes": {"type": "object", "additionalProperties": _ATTRIBUTE},
                },
            }
        },
    },
    "Upsert": {
        "type": "object",
        "required": ["documents"],
        "properties": {
            "documents": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": {"type": "integer", "minimum": 0},
                        "vector": {"type": ["array", "null"], "items": {"type": "number"}},
                        "attributes": {"type": "object"},
                    },
                },
            }
        },
    },
    "Delete": {
        "type": "object",
        "properties": {
            "ids": {"type": "array", "items": {"type": "integer"}},
            "filter": {"$ref": "#/components/schemas/Filter"},
        },
    },
    "Query": {
        "type": "object",
        "properties": {
            "vector": {"type": "array", "items": {"type": "number"}},
            "full_text": {
                "type": "object",
                "description": '{"field", "query", "weight"} or {"fields", "query", "weights"}',
            },
            "filter": {"$ref": "#/components/schemas/Filter"},
            "top_k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10},
            "include_vector": {"type": "boolean", "default": False},
            "include_attributes": {"type": "array", "items": {"type": "string"}},
            "fusion": {"enum": ["rrf", "minmax"], "default": "rrf"},
            "rrf_k": {"type": "number", "default": DEFAULT_RRF_K},
            "alpha": {"type": "number", "default": DEFAULT_ALPHA},
            "consistency": {"enum": ["strong", "eventual"], "default": "strong"},
        },
    },
}


def _op(summary: str, body: str | None = None, errors: tuple[int, ...] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": "OK", "content": {"application/json": {}}}},
    }
    if body:
        ref = {"$ref": f"#/components/schemas/{body}"}
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
    for status in errors:
        ref = {"$ref": "#/components/schemas/Error"}
        op["responses"][str(status)] = {
            "description": "error",
            "content": {"application/json": {"schema": ref}},
        }
    return op


_BODY_ERRORS = (400, 404, 413, 422, 503)


def openapi_document(version: str) -> dict[str, Any]:
    ns = {"name": "ns", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "elacsym_sql HTTP/JSON API", "version": version},
        "paths": {
            "/health": {"get": _op("health, version, node id and namespace count")},
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (text exposition format)",
                    "responses": {"200": {"description": "OK", "content": {"text/plain": {}}}},
                }
            },
            "/v1/cluster": {"get": _op("cluster members: addresses, liveness, namespaces owned")},
            "/v1/namespaces": {
                "get": {
                    **_op("list namespaces (paginated)", errors=(400,)),
                    "parameters": [
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    ],
                }
            },
            "/v1/namespaces/{ns}": {
                "parameters": [ns],
                "put": _op("create a namespace", "CreateNamespace", (400, 409, 413, 422)),
                "get": _op("schema and stats", errors=(404,)),
                "delete": _op("drop a namespace", errors=(404, 409)),
            },
            "/v1/namespaces/{ns}/upsert": {
                "parameters": [ns],
                "post": _op("upsert documents (one atomic write)", "Upsert", _BODY_ERRORS),
            },
            "/v1/namespaces/{ns}/delete": {
                "parameters": [ns],
                "post": _op("delete by ids or filter", "Delete", _BODY_ERRORS),
            },
            "/v1/namespaces/{ns}/query": {
                "parameters": [ns],
                "post": _op("vector, full-text or hybrid query", "Query", _BODY_ERRORS),
            },
            "/v1/namespaces/{ns}/compact": {
                "parameters": [ns],
                "post": _op(
                    "fold the WAL tail, merge small segments, collect garbage (at the "
                    "namespace's owner); answers the namespace's stats",
                    errors=(404, 503),
                ),
            },
        },
        "components": {"schemas": _SCHEMAS},
    }


def docs_html(version: str) -> str:
    """A self-contained page (no scripts from elsewhere: it works offline) describing each
    endpoint and its request body, from the same OpenAPI document."""
    doc = openapi_document(version)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>elacsym_sql HTTP API</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}pre{background:#f4f4f4;"
        "padding:.5em;overflow:auto}</style></head><body>",
        f"<h1>elacsym_sql HTTP/JSON API {html.escape(version)}</h1>",
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a> (OpenAPI 3.1). Errors "
        "are <code>{&quot;error&quot;: message, &quot;code&quot;: SQLSTATE}</code>.</p>",
    ]
    schemas = doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            parts.append(f"<h2>{method.upper()} {html.escape(path)}</h2><p>{op['summary']}</p>")
            body = op.get("requestBody")
            if body:
                name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                text = json.dumps(schemas[name], indent=2)
                parts.append(f"<pre>{html.escape(text)}</pre>")
            codes = ", ".join(c for c in op["responses"] if c != "200")
            if codes:
                parts.append(f"<p>Error statuses: {codes}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
