"""What a namespace's full-text index holds: its tantivy fields, and keys turned into terms.

Fields: `__key` (i64 for BIGINT keys; for TEXT/UUID one raw term, a SHA-256 above 256 bytes
since tantivy truncates long terms) and `__key_value` (TEXT/UUID key, stored); one text
field per full_text column; `__all` (all of them, the default field) when there are two or
more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import tantivy

from elacsym_sql.errors import InvalidParameterValue
from elacsym_sql.index.analyzer import TOKENIZER, check_options
from elacsym_sql.schema import INTEGER_KEY_TYPES, Options, Schema

KEY = "__key"
KEY_VALUE = "__key_value"
MAX_KEY_TERM_BYTES = 256
ALL = "__all"

Key = int | str


@dataclass(frozen=True)
class FtsSpec:
    """What the index of one namespace looks like; derived from its schema."""

    key: str
    key_is_int: bool
    columns: tuple[str, ...]
    options: Options

    @classmethod
    def from_schema(cls, schema: Schema) -> FtsSpec:
        check_options(schema.options)
        if not schema.options.full_text:
            raise InvalidParameterValue(f"namespace {schema.name!r} has no full_text columns")
        key_type = schema.column(schema.primary_key).type
        return cls(
            schema.primary_key,
            key_type in INTEGER_KEY_TYPES,
            schema.options.full_text,
            schema.options,
        )

    @property
    def default_fields(self) -> tuple[str, ...]:
        return (ALL,) if len(self.columns) > 1 else self.columns

    def tantivy_schema(self) -> tantivy.Schema:
        sb = tantivy.SchemaBuilder()
        if self.key_is_int:
            sb.add_integer_field(KEY, indexed=True, fast=True)
        else:
            sb.add_text_field(KEY, tokenizer_name="raw", index_option="basic")
            sb.add_bytes_field(KEY_VALUE, stored=True)
        for name in self.columns + ((ALL,) if len(self.columns) > 1 else ()):
            sb.add_text_field(name, tokenizer_name=TOKENIZER, index_option="position")
        return sb.build()


def as_keys(keys: Any, spec: FtsSpec) -> list[Key]:
    """Non-NULL keys (a list or an Arrow array) as Python ints or strings."""
    if isinstance(keys, pa.ChunkedArray | pa.Array):
        keys = keys.to_pylist()
    out = [k for k in keys if k is not None]
    return [int(k) for k in out] if spec.key_is_int else [str(k) for k in out]


def key_set(keys: Iterable[Key], spec: FtsSpec) -> set[Key] | frozenset[Key]:
    """Allowed keys as a set; a set the caller built is used as it is (no copy per query)."""
    if isinstance(keys, set | frozenset):
        return keys
    if hasattr(keys, "tolist"):  # numpy and Arrow arrays: one conversion, not one per key
        keys = keys.tolist() if not isinstance(keys, pa.ChunkedArray | pa.Array) else keys
    return set(as_keys(keys, spec))


def key_term(key: str) -> str:
    """The indexed term of a TEXT/UUID key: itself, or a digest no short key can equal."""
    short = len(key) <= MAX_KEY_TERM_BYTES // 4 or len(key.encode()) <= MAX_KEY_TERM_BYTES
    if short and not key.startswith("\x00"):
        return key
    return "\x00sha256:" + hashlib.sha256(key.encode()).hexdigest()


def key_query(schema: tantivy.Schema, spec: FtsSpec, keys: list[Key]) -> Any:
    """A query matching the documents of `keys`."""
    terms = keys if spec.key_is_int else [key_term(k) for k in keys]  # type: ignore[arg-type]
    return tantivy.Query.term_set_query(schema, KEY, terms)
