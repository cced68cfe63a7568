"""WAL operations as full-text writes: an upsert deletes the key's document, then adds the
new one; a delete deletes it. Rows whose full_text columns are all NULL are not indexed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import tantivy

from elacsym_sql.index.fulltext.spec import (
    ALL,
    KEY,
    KEY_VALUE,
    FtsSpec,
    Key,
    as_keys,
    key_query,
    key_term,
)


@dataclass(frozen=True)
class Upsert:
    """Rows written: the key column and the full_text columns (other columns are ignored)."""

    rows: pa.Table


@dataclass(frozen=True)
class Delete:
    keys: pa.Array | Sequence[Key]


Op = Upsert | Delete


def apply_ops(writer: Any, spec: FtsSpec, schema: tantivy.Schema, ops: Iterable[Op]) -> None:
    """Apply `ops` in order through `writer` (tantivy orders deletes and adds by opstamp);
    the caller commits."""
    for op in ops:
        if isinstance(op, Delete):
            keys = as_keys(op.keys, spec)
            if keys:
                writer.delete_documents_by_query(key_query(schema, spec, keys))
            continue
        rows = op.rows
        keys = as_keys(rows.column(spec.key), spec)
        if not keys:
            continue
        writer.delete_documents_by_query(key_query(schema, spec, keys))
        last = {k: i for i, k in enumerate(keys)}  # a key twice in one op: the last wins
        values = [
            rows.column(c).to_pylist() if c in rows.column_names else None for c in spec.columns
        ]
        for i, key in enumerate(keys):
            if last[key] == i:
                doc = _document(spec, key, [v[i] if v is not None else None for v in values])
                if doc is not None:
                    writer.add_document(doc)


def net_change(spec: FtsSpec, ops: Iterable[Op]) -> tuple[list[Key], dict[Key, list[Any]]]:
    """What `ops` leave, applied in order: every key they touch, and the full_text values
    of each key whose last operation is an upsert (one list per column)."""
    touched: dict[Key, None] = {}
    final: dict[Key, list[Any]] = {}
    for op in ops:
        if isinstance(op, Delete):
            for key in as_keys(op.keys, spec):
                touched[key] = None
                final.pop(key, None)
            continue
        rows = op.rows
        values = [
            rows.column(c).to_pylist() if c in rows.column_names else None for c in spec.columns
        ]
        for i, key in enumerate(as_keys(rows.column(spec.key), spec)):
            touched[key] = None
            final[key] = [v[i] if v is not None else None for v in values]
    return list(touched), final


def add_documents(writer: Any, spec: FtsSpec, final: dict[Key, list[Any]]) -> set[Key]:
    """Add one document per key of `final` (`net_change`'s); the keys that have text."""
    added = set()
    for key, values in final.items():
        doc = _document(spec, key, values)
        if doc is not None:
            writer.add_document(doc)
            added.add(key)
    return added


def _document(spec: FtsSpec, key: Key, values: list[Any]) -> tantivy.Document | None:
    """The document of one row (`values`: one per full_text column), None without text."""
    doc = tantivy.Document()
    has_text = False
    all_field = len(spec.columns) > 1
    for column, value in zip(spec.columns, values, strict=True):
        for text in value if isinstance(value, list) else (value,):
            if text is None:
                continue
            has_text = True
            doc.add_text(column, text)
            if all_field:
                doc.add_text(ALL, text)
    if not has_text:
        return None
    if isinstance(key, int):
        doc.add_integer(KEY, key)
    else:
        doc.add_text(KEY, key_term(key))
        doc.add_bytes(KEY_VALUE, key.encode())
    return doc
