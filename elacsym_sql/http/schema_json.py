"""The original service's namespace schema (`PUT /v1/namespaces/{ns}`) as a namespace
schema, and back (`GET /v1/namespaces/{ns}`).

A namespace made here is the table SQL sees: `id BIGINT PRIMARY KEY`, the attributes in
order, `vector FLOAT[vector_dim]`. Every full-text attribute shares one analyzer (the
namespace's options), so differing full_text settings are refused, not merged.
"""

from __future__ import annotations

from typing import Any

from ..engine import STOPWORD_LANGUAGES
from ..errors import DatatypeMismatch, InvalidParameterValue, NotSupportedError
from ..schema import LANGUAGES, MAX_VECTOR_DIM, METRICS, Column, Options, Schema
from .shape import Json, get, only

KEY, VECTOR = "id", "vector"
TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "int": "BIGINT",
    "float": "DOUBLE",
    "boolean": "BOOLEAN",
    "bool": "BOOLEAN",
    "array<string>": "VARCHAR[]",
    "array_string": "VARCHAR[]",
}
NAMES = {"VARCHAR": "string", "BIGINT": "integer", "DOUBLE": "float", "BOOLEAN": "boolean"}
_FULL_TEXT_KEYS = ("language", "stemming", "remove_stopwords", "case_sensitive", "tokenizer")


def schema_from_json(name: str, body: Json) -> Schema:
    """The namespace `body` declares; every part is checked before anything is written."""
    only(body, ("schema",), "")
    raw = get(body, "schema", dict, "", required=True)
    only(raw, ("vector_dim", "vector_metric", "attributes"), "schema")
    dim = get(raw, "vector_dim", int, "schema", required=True)
    metric = get(raw, "vector_metric", str, "schema", default="cosine")
    if metric.lower() not in METRICS:
        raise InvalidParameterValue(
            f"schema.vector_metric must be one of {', '.join(METRICS)}, not {metric!r}"
        )
    columns = [Column(KEY, "BIGINT")]
    analyzers: dict[str, dict[str, Any]] = {}
    for attr, spec in get(raw, "attributes", dict, "schema", default={}).items():
        path = f"schema.attributes.{attr}"
        if attr in (KEY, VECTOR):
            raise DatatypeMismatch(f"{path}: {attr!r} is not an attribute name (it is built in)")
        if not isinstance(spec, dict):
            raise DatatypeMismatch(f"{path} must be an object")
        only(spec, ("type", "attr_type", "indexed", "full_text"), path)
        kind = spec.get("type", spec.get("attr_type"))
        if not isinstance(kind, str):
            raise DatatypeMismatch(f"{path}.type must be a string")
        if kind.lower() not in TYPES:
            raise InvalidParameterValue(
                f"{path}.type {kind!r} is not a type", hint=f"types: {', '.join(TYPES)}"
            )
        columns.append(Column(attr, TYPES[kind.lower()]))
        analyzer = _full_text(spec.get("full_text"), f"{path}.full_text")
        if analyzer is not None:
            if not columns[-1].type.startswith("VARCHAR"):
                raise InvalidParameterValue(f"{path}: full_text needs a string attribute")
            analyzers[attr] = analyzer
    if not 1 <= dim <= MAX_VECTOR_DIM:
        raise InvalidParameterValue(
            f"schema.vector_dim must be from 1 to {MAX_VECTOR_DIM}, not {dim}"
        )
    columns.append(Column(VECTOR, f"FLOAT[{dim}]"))
    distinct = {tuple(sorted(a.items())) for a in analyzers.values()}
    if len(distinct) > 1:
        raise NotSupportedError(
            "full-text attributes with different settings are not supported",
            hint="one namespace has one analyzer: give every full_text attribute the same one",
        )
    analyzer = next(iter(analyzers.values()), {})
    options = Options(metric=metric.lower(), full_text=tuple(analyzers), **analyzer)
    return Schema(name, tuple(columns), KEY, options)


def _full_text(raw: Any, path: str) -> dict[str, Any] | None:
    """The analyzer options of one attribute, or None when it has no full-text index."""
    if raw is None or raw is False:
        return None
    if raw is True:
        raw = {}
    if not isinstance(raw, dict):
        raise DatatypeMismatch(f"{path} must be true, false or an object")
    if "Simple" in raw:  # the original README's spelling: enabled with defaults, or not
        only(raw, ("Simple",), path)
        return {} if get(raw, "Simple", bool, path) else None
    only(raw, _FULL_TEXT_KEYS, path)
    language = get(raw, "language", str, path, default="english").lower()
    if language not in LANGUAGES:
        raise InvalidParameterValue(
            f"{path}.language {language!r} is not supported",
            hint=f"languages: {', '.join(LANGUAGES)}",
        )
    stopwords = get(raw, "remove_stopwords", bool, path, default=True)
    if stopwords and language not in STOPWORD_LANGUAGES:
        raise InvalidParameterValue(
            f"{path}: there is no stopword list for {language}",
            hint='set "remove_stopwords": false for this language',
        )
    get(raw, "tokenizer", str, path)  # accepted and ignored (one tokenizer)
    return {
        "language": language,
        "stemming": get(raw, "stemming", bool, path, default=True),
        "stopwords": stopwords,
        "case_sensitive": get(raw, "case_sensitive", bool, path, default=False),
    }


def schema_to_json(schema: Schema) -> Json:
    """A namespace's schema in the original's words (SQL types it lacks by their SQL name)."""
    opts = schema.options
    attributes: Json = {}
    for col in schema.visible:
        if col.name == schema.primary_key or col.is_vector:
            continue
        base = NAMES.get(col.base, col.base.lower())
        entry: Json = {"type": f"array<{base}>" if col.is_list else base}
        if col.name in opts.full_text:
            entry["full_text"] = {
                "language": opts.language,
                "stemming": opts.stemming,
                "remove_stopwords": opts.stopwords,
                "case_sensitive": opts.case_sensitive,
            }
        attributes[col.name] = entry
    vectors = schema.vector_columns
    return {
        "vector_dim": vectors[0].dim if len(vectors) == 1 else None,
        "vector_metric": opts.metric,
        "attributes": attributes,
    }
