"""Upsert, delete and query bodies turned into engine API calls, and search results into
the original's answer (`{"results": [{"id", "score", "attributes", "vector"?}], ...}`).

Shapes are checked here (422 naming the field); values (dimensions, NaN, k, filter
attributes and kinds) are checked once, by the engine API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..engine import DEFAULT_ALPHA, DEFAULT_RRF_K, EngineApi, Fusion, SearchResult
from ..errors import DatatypeMismatch, InvalidParameterValue, NotSupportedError
from ..schema import Schema
from .shape import Json, get, is_kind, only

_QUERY_FIELDS = (
    "vector", "full_text", "filter", "top_k", "include_vector", "include_attributes",
    "fusion", "rrf_k", "alpha", "consistency",
)  # fmt: skip


def vector_column(schema: Schema) -> str | None:
    """The namespace's one vector column (`vector` in the original's terms)."""
    vectors = schema.vector_columns
    if len(vectors) > 1:
        raise NotSupportedError(
            f'namespace "{schema.name}" has {len(vectors)} vector columns; the HTTP API '
            "serves namespaces with one",
            hint="search it with SQL: vector_search(..., column := 'name')",
        )
    return vectors[0].name if vectors else None


def documents_to_rows(body: Json, schema: Schema) -> list[dict[str, Any]]:
    """`{"documents": [{"id", "vector", "attributes"}]}` as rows of the namespace."""
    only(body, ("documents",), "")
    docs = get(body, "documents", list, "", required=True)
    key, vector = schema.primary_key, vector_column(schema)
    integer_key = schema.column(key).type in ("BIGINT", "INTEGER", "SMALLINT")
    rows = []
    for i, doc in enumerate(docs):
        path = f"documents[{i}]"
        if not isinstance(doc, dict):
            raise DatatypeMismatch(f"{path} must be an object")
        only(doc, ("id", "vector", "attributes"), path)
        doc_id = doc.get("id")
        if integer_key and (not is_kind(doc_id, int) or doc_id < 0):
            raise DatatypeMismatch(f"{path}.id must be a non-negative integer")
        if not integer_key and not isinstance(doc_id, str):
            raise DatatypeMismatch(f"{path}.id must be a string (the key is {key})")
        attributes = get(doc, "attributes", dict, path, default={})
        for name in (key, vector):
            if name is not None and name in attributes:
                raise DatatypeMismatch(f"{path}.attributes.{name}: {name!r} is not an attribute")
        row = {**attributes, key: doc_id}
        if doc.get("vector") is not None:
            if vector is None:
                raise DatatypeMismatch(f"{path}.vector: namespace {schema.name} has no vectors")
            row[vector] = get(doc, "vector", list, path)
        rows.append(row)
    return rows


def delete_args(body: Json) -> dict[str, Any]:
    only(body, ("ids", "filter"), "")
    ids = get(body, "ids", list, "")
    filt = get(body, "filter", dict, "")
    if (ids is None) == (filt is None):
        raise DatatypeMismatch('the body needs "ids" or "filter" (one of them)')
    return {"ids": ids} if ids is not None else {"filter": filt}


@dataclass(frozen=True)
class Query:
    vector: list[Any] | None
    text: str | None
    columns: str | None
    text_weight: float
    filter: Json | None
    k: int
    fusion: Fusion
    include_vector: bool
    include: list[str] | None
    consistency: str = "strong"  # "eventual": the node's cached state, no freshness probe


def parse_query(body: Json) -> Query:
    only(body, _QUERY_FIELDS, "")
    vector = get(body, "vector", list, "")
    full_text = get(body, "full_text", dict, "")
    if vector is None and full_text is None:
        raise InvalidParameterValue('a query needs "vector", "full_text" or both')
    text, columns, weight = _full_text(full_text) if full_text is not None else (None, None, 1.0)
    consistency = get(body, "consistency", str, "", default="strong")
    if consistency not in ("strong", "eventual"):
        raise InvalidParameterValue(
            f'consistency must be "strong" or "eventual", not {consistency!r}'
        )
    fusion = Fusion.checked(
        get(body, "fusion", str, "", default="rrf"),
        get(body, "alpha", (int, float), "", default=DEFAULT_ALPHA),
        get(body, "rrf_k", (int, float), "", default=DEFAULT_RRF_K),
        (1.0, weight),
    )
    include = get(body, "include_attributes", list, "")
    if include is not None and not all(isinstance(a, str) for a in include):
        raise DatatypeMismatch("include_attributes must be a list of attribute names")
    return Query(
        vector=vector,
        text=text,
        columns=columns,
        text_weight=weight,
        filter=get(body, "filter", dict, ""),
        k=get(body, "top_k", int, "", default=10),
        fusion=fusion,
        include_vector=get(body, "include_vector", bool, "", default=False),
        include=include or None,
        consistency=consistency,
    )


def _full_text(raw: Json) -> tuple[str, str | None, float]:
    """(query text, columns spec 'title^2,body', weight of the text branch in a hybrid)."""
    path = "full_text"
    text = get(raw, "query", str, path, required=True)
    if "fields" in raw:
        only(raw, ("fields", "query", "weights"), path)
        fields = get(raw, "fields", list, path, required=True)
        if not fields or not all(isinstance(f, str) for f in fields):
            raise DatatypeMismatch("full_text.fields must be a non-empty list of field names")
        weights = get(raw, "weights", dict, path, default={})
        for name, w in weights.items():
            if not is_kind(w, (int, float)):
                raise DatatypeMismatch(f"full_text.weights.{name} must be a number")
        return text, ",".join(f"{f}^{float(weights.get(f, 1.0))!r}" for f in fields), 1.0
    only(raw, ("field", "query", "weight"), path)
    field = get(raw, "field", str, path)
    weight = float(get(raw, "weight", (int, float), path, default=1.0))
    if not (math.isfinite(weight) and weight >= 0):
        raise InvalidParameterValue(f"full_text.weight must be zero or more, not {weight}")
    return text, field, weight


def run_query(api: EngineApi, name: str, q: Query) -> tuple[SearchResult, str]:
    """The search a query asks for, and what its score is."""
    snap = api.snapshot(name, eventual=q.consistency == "eventual")
    if q.vector is not None and q.text is not None:
        found = api.hybrid_search(
            snap, q.vector, q.text, q.k, fusion=q.fusion, filter=q.filter, columns=q.columns
        )
        return found, q.fusion.method
    if q.vector is not None:
        return api.vector_search(snap, q.vector, q.k, filter=q.filter), "similarity"
    assert q.text is not None
    return api.text_search(snap, q.text, q.k, columns=q.columns, filter=q.filter), "bm25"


def similarity(distance: float, metric: str) -> float:
    """A distance as a similarity, larger is closer: cosine similarity, the dot product,
    1 / (1 + euclidean distance)."""
    if metric == "cosine":
        return 1.0 - distance
    if metric == "dot":
        return -distance
    return 1.0 / (1.0 + distance)


def results_json(found: SearchResult, kind: str, q: Query) -> list[Json]:
    schema = found.schema
    assert schema is not None  # the engine API's results carry the schema searched
    key, vector = schema.primary_key, vector_column(schema)
    rows: pa.Table = found.rows
    scores = rows.column("_distance" if kind == "similarity" else "_score").to_pylist()
    if kind == "similarity":
        scores = [similarity(d, schema.options.metric) for d in scores]
    names = [c.name for c in schema.visible if c.name not in (key, vector)]
    if q.include is not None:
        unknown = [a for a in q.include if a not in names]
        if unknown:
            raise DatatypeMismatch(f"include_attributes: {unknown[0]!r} is not an attribute")
        names = q.include
    wanted = [key, *names] + ([vector] if q.include_vector and vector else [])
    out = []
    for row, score in zip(rows.select(wanted).to_pylist(), scores, strict=True):
        attrs = {n: row[n] for n in names if q.include is not None or row[n] is not None}
        item: Json = {"id": row[key], "score": score, "attributes": attrs}
        if q.include_vector and vector:
            item["vector"] = row[vector]
        out.append(item)
    return out
