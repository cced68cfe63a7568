"""Hybrid search: the namespace's vector and text search fused in one SQL table macro."""

from __future__ import annotations

from ..schema import Schema
from .search_calls import macro_name
from .views import quote


def hybrid_macro_sql(schema: Schema) -> str:
    """RRF fusion of the namespace's vector and text search, written in SQL:
    score = sum of weight / (rrf_k + rank), ranks from 1, ties by key; both branches take
    `window` candidates (default max(k, 100)) under the same filter."""
    name, key = schema.name, quote(schema.primary_key)
    cols = ", ".join(f"coalesce(v.{quote(c)}, t.{quote(c)}) AS {quote(c)}" for c in schema.names)
    window = 'coalesce("window", greatest(k, 100))'
    return (
        f"CREATE OR REPLACE MACRO {macro_name('hybrid_search', name)}"
        '(q, query, k, rrf_k := 60, weights := [1.0, 1.0], "window" := NULL, '
        "filter := NULL, \"column\" := NULL, columns := NULL, mode := 'or', ef := NULL) "
        "AS TABLE WITH "
        f"v AS (SELECT *, row_number() OVER (ORDER BY _distance, {key}) AS _r FROM "
        f'{macro_name("vector_search", name)}(q, {window}, "column" := "column", '
        "filter := filter, ef := ef)), "
        f"t AS (SELECT *, row_number() OVER (ORDER BY _score DESC, {key}) AS _r FROM "
        f"{macro_name('text_search', name)}(query, {window}, columns := columns, "
        "filter := filter, mode := mode)) "
        f"SELECT {cols}, "
        "CAST(coalesce(weights[1] / (rrf_k + v._r), 0) + coalesce(weights[2] / (rrf_k + t._r), 0)"
        " AS DOUBLE) AS _score, v._r AS _vector_rank, t._r AS _text_rank "
        f"FROM v FULL OUTER JOIN t ON v.{key} = t.{key} "
        f"ORDER BY _score DESC, coalesce(v.{key}, t.{key}) LIMIT k"
    )
