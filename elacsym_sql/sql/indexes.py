"""CREATE INDEX / DROP INDEX on namespaces: checked, then answered without building anything
(decision 0029).

A namespace already keeps the indexes its searches use: HNSW (or exact) per segment for
each vector column, by the namespace's metric, and the full-text index. pgvector's
`CREATE INDEX ... USING hnsw|ivfflat (embedding vector_cosine_ops)` names those; an index
on ordinary columns has nothing to add, since filters run as DuckDB scans of Parquet
segments that skip row groups by their min/max statistics. So both are accepted once they
name real columns and a real access method / operator class, and build nothing.
DuckDB's own tables keep DuckDB's real indexes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import NotSupportedError, UndefinedColumn, UndefinedObject
from ..schema import Schema

# pgvector's operator classes, by the namespace metric they index for.
VECTOR_OPCLASSES = {"vector_cosine_ops": "cosine", "vector_l2_ops": "l2", "vector_ip_ops": "dot"}
VECTOR_METHODS = frozenset({"hnsw", "ivfflat"})
ORDINARY_METHODS = frozenset({"btree", "hash", "gin", "gist", "spgist", "brin"})

_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_CREATE = re.compile(
    r"\s*CREATE\s+(?P<unique>UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"(?:{_NAME}\s+)?ON\s+(?:ONLY\s+)?(?P<table>(?:{_NAME}\s*\.\s*)?{_NAME})\s*"
    r"(?:USING\s+(?P<method>\w+)\s*)?\(",
    re.IGNORECASE,
)
_DROP = re.compile(
    r"\s*DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?P<exists>IF\s+EXISTS\s+)?(?P<names>.*?)"
    r"(?:\s+(?:CASCADE|RESTRICT))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ELEMENT = re.compile(rf"\s*(?P<column>{_NAME})(?:\s+(?P<opclass>{_NAME}))?(?:\s+.*)?$", re.S)


def _ident(text: str) -> str:
    text = text.strip()
    return text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()


def _table(text: str) -> str | None:
    """The namespace a (possibly schema-qualified) table name may be; None for other schemas."""
    parts = [p.strip() for p in re.split(r"\.(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", text)]
    if len(parts) == 2 and _ident(parts[0]) not in ("public", "main"):
        return None
    return _ident(parts[-1])


def _elements(text: str, start: int) -> list[str] | None:
    """The comma-separated elements inside the parentheses opening at `start` - 1."""
    depth, quoted, parts, begin = 1, False, [], start
    for i in range(start, len(text)):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                parts.append(text[begin:i])
                return parts
        elif ch == "," and depth == 1:
            parts.append(text[begin:i])
            begin = i + 1
    return None


def run_index_statement(text: str, schema_of: Callable[[str], Schema | None]) -> str | None:
    """The command tag of CREATE INDEX on a namespace (checked, built into nothing), or
    None when the statement is not that (DuckDB answers it)."""
    found = _CREATE.match(text)
    if found is None:
        return None
    name = _table(found.group("table"))
    schema = schema_of(name) if name else None
    if schema is None:
        return None
    if found.group("unique"):
        raise NotSupportedError(
            "unique indexes are not supported on namespaces",
            hint="declare the column UNIQUE or PRIMARY KEY in CREATE TABLE",
        )
    method = (found.group("method") or "btree").lower()
    if method not in VECTOR_METHODS | ORDINARY_METHODS:
        raise UndefinedObject(f'access method "{method}" does not exist')
    elements = _elements(text, found.end())
    if elements is None:
        return None  # unbalanced: DuckDB's parser says where
    for element in elements:
        _check_element(element, method, schema)
    return "CREATE INDEX"


def _check_element(element: str, method: str, schema: Schema) -> None:
    if element.strip().startswith("("):
        return  # an expression: nothing to check it against without evaluating it
    parts = _ELEMENT.match(element)
    if parts is None:
        raise NotSupportedError(f"index element {element.strip()} is not supported")
    column = _ident(parts.group("column"))
    if column not in schema.names:
        raise UndefinedColumn(f'column "{column}" does not exist')
    is_vector = schema.column(column).is_vector
    opclass = parts.group("opclass")
    if opclass is not None:
        opclass = None if opclass.upper() in ("ASC", "DESC", "NULLS") else _ident(opclass)
    if method in VECTOR_METHODS:
        if not is_vector:
            raise UndefinedObject(
                f'column "{column}" is not a vector: it has no operator class for access '
                f'method "{method}"'
            )
        if opclass is not None and opclass not in VECTOR_OPCLASSES:
            raise UndefinedObject(
                f'operator class "{opclass}" does not exist for access method "{method}"',
                hint=f"use one of {', '.join(VECTOR_OPCLASSES)}",
            )
    elif opclass in VECTOR_OPCLASSES:
        raise UndefinedObject(
            f'operator class "{opclass}" does not exist for access method "{method}"'
        )


def run_drop_index(text: str, duckdb_has: Callable[[str], bool]) -> str | None:
    """DROP INDEX of names DuckDB does not hold: the namespaces' indexes, which were never
    built, so dropping them is done (None: DuckDB drops its own)."""
    found = _DROP.match(text)
    if found is None:
        return None
    names = [_table(n) for n in found.group("names").split(",")]
    if any(n is None or duckdb_has(n) for n in names):
        return None
    return "DROP INDEX"
