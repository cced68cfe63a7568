"""Hybrid search: the namespace's vector and text search fused in one SQL table macro."""

from __future__ import annotations

from ..errors import InvalidParameterValue
from ..schema import Schema
from .search_calls import macro_name
from .views import quote

FUSIONS = ("rrf", "minmax")
# Default weight of the vector branch under fusion := 'minmax'. Chosen on the SciFact TRAIN
# qrels only (bench/hybrid.py sweeps alpha 0, 0.05, ..., 1 at the default window and keeps
# the best train nDCG@10); the test qrels took no part in the choice.
DEFAULT_ALPHA = 0.45

_BAD = f"[elacsym:{InvalidParameterValue.sqlstate}] "  # translate() restores class + SQLSTATE


def hybrid_macro_sql(schema: Schema) -> str:
    """Vector and text search of the namespace fused in SQL. Both branches take `window`
    candidates (default max(k, 100)) under the same filter; ranks from 1, ties by key.

    - fusion 'rrf' (default): score = sum of weight / (rrf_k + rank).
    - fusion 'minmax': each branch's candidates scaled to [0, 1] within the branch (vector
      (max_d - d) / (max_d - min_d), text (s - min_s) / (max_s - min_s), 1.0 when all of a
      branch's candidates tie, 0 for a row the branch did not return), then
      score = alpha * weights[1] * vector part + (1 - alpha) * weights[2] * text part.

    An unknown fusion or an alpha outside [0, 1] raises 22023: the check is the vector
    search's window argument, so it runs (once per call) before that search; the full outer
    join always runs both searches."""
    name, key = schema.name, quote(schema.primary_key)
    cols = ", ".join(f"coalesce(v.{quote(c)}, t.{quote(c)}) AS {quote(c)}" for c in schema.names)
    fusions = ", ".join(f"'{f}'" for f in FUSIONS)
    window = 'coalesce("window", greatest(k, 100))'
    checked_window = (
        f"CASE WHEN fusion IS NULL OR lower(fusion) NOT IN ({fusions}) THEN error("
        f"'{_BAD}fusion must be ''rrf'' or ''minmax'', not ' || coalesce("
        "'''' || fusion || '''', 'NULL')) "
        "WHEN alpha IS NULL OR NOT (alpha >= 0 AND alpha <= 1) THEN error("
        f"'{_BAD}alpha must be between 0 and 1, not ' || coalesce(CAST(alpha AS VARCHAR), "
        f"'NULL')) ELSE {window} END"
    )
    vector = (
        f'{macro_name("vector_search", name)}(q, {checked_window}, "column" := "column", '
        "filter := filter, ef := ef)"
    )
    text = (
        f"{macro_name('text_search', name)}(query, {window}, columns := columns, "
        "filter := filter, mode := mode)"
    )
    return (
        f"CREATE OR REPLACE MACRO {macro_name('hybrid_search', name)}"
        f"(q, query, k, fusion := 'rrf', alpha := {DEFAULT_ALPHA}, rrf_k := 60, "
        'weights := [1.0, 1.0], "window" := NULL, filter := NULL, "column" := NULL, '
        "columns := NULL, mode := 'or', ef := NULL) AS TABLE WITH "
        f"v AS ({_branch(vector, '_distance', key, '__hi - _distance')}), "
        f"t AS ({_branch(text, '_score DESC', key, '_score - __lo')}) "
        f"SELECT {cols}, CAST(CASE WHEN lower(fusion) = 'minmax' THEN "
        "alpha * weights[1] * coalesce(v.__part, 0) "
        "+ (1 - alpha) * weights[2] * coalesce(t.__part, 0) "
        "ELSE coalesce(weights[1] / (rrf_k + v.__rank), 0) "
        "+ coalesce(weights[2] / (rrf_k + t.__rank), 0) END AS DOUBLE) AS _score, "
        "v.__rank AS _vector_rank, t.__rank AS _text_rank "
        f"FROM v FULL OUTER JOIN t ON v.{key} = t.{key} "
        f"ORDER BY _score DESC, coalesce(v.{key}, t.{key}) LIMIT k"
    )


def _branch(search: str, order: str, key: str, above_worst: str) -> str:
    """One branch's candidates with their rank (from 1, ties by key) and their min-max part:
    `above_worst` (how far a candidate is from the branch's worst value) over the branch's
    spread, 1.0 when its candidates all tie. Internal names start with `__`, which no
    namespace column may."""
    value = order.split()[0]
    return (
        "SELECT *, CASE WHEN __hi > __lo THEN "
        f"({above_worst}) / (__hi - __lo) ELSE 1.0 END AS __part FROM ("
        f"SELECT *, row_number() OVER (ORDER BY {order}, {key}) AS __rank, "
        f"CAST(min({value}) OVER () AS DOUBLE) AS __lo, "
        f"CAST(max({value}) OVER () AS DOUBLE) AS __hi FROM {search})"
    )
