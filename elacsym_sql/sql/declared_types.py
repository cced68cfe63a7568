"""Result columns whose Postgres type DuckDB's result type cannot say: pgvector's vector
and jsonb.

A `vector(d)` column is stored and read as DuckDB's FLOAT[d], like a column declared
FLOAT[d] (a float4[] array for clients); a JSONB column as JSON (DuckDB keeps no alias in
a result's type). Clients tell them apart by the column's type OID: pgvector's
register_vector decodes only its `vector` OID, asyncpg's jsonb codec only 3802. So a
result column that reads (or is named like) a column of the namespaces the statement
reads takes that column's declared type when every such column agrees on it and DuckDB's
type is the one it is stored as; so does a cast to `vector` or `jsonb` (`$1::vector`).
A json path into a jsonb column (`body -> 'k'`) is jsonb, as in Postgres. Other computed
columns (`?column?`) keep DuckDB's type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..schema import Column, Schema
from .column_names import ARROW_MARK, CAST_MARK

VECTOR = "VECTOR"  # type texts the wire maps to pgvector's and jsonb's OIDs (pg_types.py)
JSONB = "JSONB"
_STORED_AS = {VECTOR: re.compile(r"FLOAT\[[0-9]*\]"), JSONB: re.compile(r"JSON")}
_CASTS = {CAST_MARK + "vector": VECTOR, CAST_MARK + "jsonb": JSONB}  # x::vector, x::jsonb


def _declared(col: Column) -> str | None:
    if col.pgvector:
        return VECTOR
    return JSONB if col.type == JSONB else None


def may_declare(schemas: Iterable[Schema], text: str) -> bool:
    """Whether a statement reading `schemas` may have a column to retype: a cheap test
    before the select list is parsed."""
    lowered = text.lower()
    if "vector" in lowered or "jsonb" in lowered:
        return True
    return any(_declared(col) for schema in schemas for col in schema.visible)


def declared_types(
    schemas: Iterable[Schema],
    columns: Sequence[tuple[str, str]],
    sources: Sequence[str | None] | None = None,
) -> list[str] | None:
    """The type text of each of `columns` ((name, DuckDB type)) as the wire should send
    it, or None when DuckDB's types are right for all of them. `sources`: the column each
    one reads, where the statement says (`v AS w` reads v; column_names.source_columns)."""
    kinds: dict[str, set[str | None]] = {}
    for schema in schemas:
        for col in schema.visible:
            kinds.setdefault(col.name, set()).add(_declared(col))
    casts = any(s and _CASTS.get(s) for s in sources or ())
    if not casts and not any(k for found in kinds.values() for k in found):
        return None
    out = []
    for i, (name, duck) in enumerate(columns):
        read = (sources[i] if sources else None) or name
        if read.startswith(CAST_MARK):
            found = {_CASTS.get(read)}
        elif read.startswith(ARROW_MARK):  # body -> 'k': jsonb from a jsonb column
            found = {JSONB} if kinds.get(read[len(ARROW_MARK) :]) == {JSONB} else set()
        else:
            found = kinds.get(read, set())
        declared = next(iter(found)) if len(found) == 1 else None
        out.append(declared if declared and _STORED_AS[declared].fullmatch(duck) else duck)
    return out if out != [duck for _, duck in columns] else None
