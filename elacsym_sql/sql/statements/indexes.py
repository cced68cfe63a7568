"""CREATE INDEX / DROP INDEX on namespaces, read from the statement text (decision 0032).

sqlglot reads many index statements as opaque commands, so they are read here, by Postgres's
grammar for them: `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON [ONLY]
table [USING method] (element, ...) [WITH (...)] [TABLESPACE t]`, each element a column or
an expression with [COLLATE c] [opclass] [ASC | DESC] [NULLS FIRST | LAST]. What is checked
here needs only the schema; index_ddl.py records the index in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ...constraints import Index, IndexKey, object_name
from ...errors import NotSupportedError, UndefinedColumn, UndefinedObject
from ...schema import Schema

# pgvector's operator classes, by the namespace metric they index for.
VECTOR_OPCLASSES = {"vector_cosine_ops": "cosine", "vector_l2_ops": "l2", "vector_ip_ops": "dot"}
VECTOR_METHODS = frozenset({"hnsw", "ivfflat"})
ORDINARY_METHODS = frozenset({"btree", "hash", "gin", "gist", "spgist", "brin"})

NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_CREATE = re.compile(
    r"\s*CREATE\s+(?P<unique>UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?"
    rf"(?P<exists>IF\s+NOT\s+EXISTS\s+)?(?:(?P<name>{NAME})\s+)?ON\s+(?:ONLY\s+)?"
    rf"(?P<table>(?:{NAME}\s*\.\s*)?{NAME})\s*(?:USING\s+(?P<method>\w+)\s*)?\(",
    re.IGNORECASE,
)
_DROP = re.compile(
    r"\s*DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?P<exists>IF\s+EXISTS\s+)?(?P<names>.*?)"
    r"\s*(?P<behavior>\bCASCADE|\bRESTRICT)?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_HEAD = re.compile(rf"\s*(?P<name>{NAME})\s*(?P<call>\()?", re.S)
_OPTIONS = re.compile(
    rf"\s*(?:COLLATE\s+(?P<collate>{NAME}(?:\.{NAME})?)\s*)?"
    rf"(?:(?!(?:ASC|DESC|NULLS)\b)(?P<opclass>{NAME})\s*)?"
    r"(?P<dir>ASC|DESC)?\s*(?:NULLS\s+(?P<nulls>FIRST|LAST))?\s*$",
    re.IGNORECASE | re.S,
)
_WITH = re.compile(r"\s*WITH\s*\(", re.IGNORECASE)
_TABLESPACE = re.compile(rf"\s*TABLESPACE\s+{NAME}", re.IGNORECASE)


@dataclass(frozen=True)
class CreateIndex:
    table: str
    index: Index  # its name "" when the statement names none (index_ddl.py chooses one)
    if_not_exists: bool


@dataclass(frozen=True)
class DropIndex:
    names: tuple[str | None, ...]  # None: a name in another schema than public
    if_exists: bool
    cascade: bool


def ident(text: str) -> str:
    text = text.strip()
    return text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()


def table_of(text: str) -> str | None:
    """The namespace a (possibly schema-qualified) table name may be; None for other schemas."""
    parts = [p.strip() for p in re.split(r"\.(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", text)]
    if len(parts) == 2 and ident(parts[0]) not in ("public", "main"):
        return None
    return ident(parts[-1])


def _closing(text: str, start: int) -> int | None:
    """The position of the parenthesis closing the one opened just before `start`."""
    depth, quote = 1, ""
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return None


def _split(text: str) -> list[str]:
    """`text` cut at its top-level commas."""
    parts, begin, depth, quote = [], 0, 0, ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == "," and depth == 0:
            parts.append(text[begin:i])
            begin = i + 1
    return [*parts, text[begin:]]


def parse_create_index(text: str) -> tuple[str, CreateIndex | None] | None:
    """(table, the statement read) for CREATE INDEX on a public table, (table, None) when its
    element list does not close (DuckDB's parser says where); None for other statements."""
    found = _CREATE.match(text)
    if found is None:
        return None
    table = table_of(found.group("table"))
    if table is None:
        return None
    end = _closing(text, found.end())
    if end is None:
        return table, None
    keys = tuple(_key(element) for element in _split(text[found.end() : end]))
    index = Index(
        ident(found.group("name")) if found.group("name") else "",
        keys,
        unique=bool(found.group("unique")),
        method=(found.group("method") or "btree").lower(),
        options=_trailer(text[end + 1 :]),
    )
    return table, CreateIndex(table, index, bool(found.group("exists")))


def _key(element: str) -> IndexKey:
    head = _HEAD.match(element)
    text = element.strip()
    if text.startswith("(") or (head is not None and head.group("call")):
        start = element.index("(") + 1
        end = _closing(element, start)
        if end is None:
            raise NotSupportedError(f"index element {text} is not supported")
        expression, rest = element[: end + 1].strip(), element[end + 1 :]
        column = None
    elif head is not None:
        expression, rest, column = "", element[head.end() :], ident(head.group("name"))
    else:
        raise NotSupportedError(f"index element {text} is not supported")
    options = _OPTIONS.match(rest)
    if options is None:
        raise NotSupportedError(f"index element {text} is not supported")
    descending = (options.group("dir") or "").upper() == "DESC"
    nulls = (options.group("nulls") or "").upper()
    opclass = ident(options.group("opclass")) if options.group("opclass") else ""
    return IndexKey(column, expression, opclass, descending,
                    nulls == "FIRST" or (descending and not nulls))  # fmt: skip


def _trailer(text: str) -> tuple[str, ...]:
    """The storage options of `WITH (a = 1, ...)` after the element list, as "a=1"."""
    options: tuple[str, ...] = ()
    rest = text.strip().rstrip(";")
    if (found := _WITH.match(rest)) is not None and (end := _closing(rest, found.end())):
        options = tuple(
            "=".join(p.strip().strip("'").lower() for p in item.split("=", 1))
            for item in _split(rest[found.end() : end])
        )
        rest = rest[end + 1 :]
    if (found := _TABLESPACE.match(rest)) is not None:
        rest = rest[found.end() :]  # one storage place: any tablespace is it
    if rest.strip():
        raise NotSupportedError(
            f"index clause {rest.strip().split()[0].upper()} is not supported on namespaces",
            hint="partial (WHERE) and covering (INCLUDE) indexes are not supported",
        )
    return options


def check_index(index: Index, schema: Schema) -> None:
    """Refuse what the namespace cannot hold: unknown columns, access methods and operator
    classes (42703, 42704), unique indexes on expressions or by other methods (0A000)."""
    method = index.method
    if method not in VECTOR_METHODS | ORDINARY_METHODS:
        raise UndefinedObject(f'access method "{method}" does not exist')
    if index.unique and method != "btree":
        raise NotSupportedError(f'access method "{method}" does not support unique indexes')
    if index.unique and len(index.columns) < len(index.keys):
        raise NotSupportedError(
            "unique indexes on expressions are not supported on namespaces",
            hint="a unique index names columns only",
        )
    for key in index.keys:
        if key.column is not None and key.column not in schema.names:
            raise UndefinedColumn(f'column "{key.column}" does not exist')
        is_vector = key.column is not None and schema.column(key.column).is_vector
        if method in VECTOR_METHODS:
            if not is_vector:
                raise UndefinedObject(
                    f'column "{key.column or key.expression}" is not a vector: it has no '
                    f'operator class for access method "{method}"'
                )
            if key.opclass and key.opclass not in VECTOR_OPCLASSES:
                raise UndefinedObject(
                    f'operator class "{key.opclass}" does not exist for access method "{method}"',
                    hint=f"use one of {', '.join(VECTOR_OPCLASSES)}",
                )
        elif key.opclass in VECTOR_OPCLASSES:
            raise UndefinedObject(
                f'operator class "{key.opclass}" does not exist for access method "{method}"'
            )


def default_index_name(table: str, index: Index, taken: Callable[[str], bool]) -> str:
    """Postgres's name for an unnamed index: table_col1_col2_idx, then idx1, idx2, ..."""
    parts = [k.column or _expression_name(k.expression) for k in index.keys]
    label, n = "idx", 0
    while taken(name := object_name(table, "_".join(parts), label)):
        n += 1
        label = f"idx{n}"
    return name


def _expression_name(expression: str) -> str:
    """Postgres names an expression's part by its function (`lower(q)`: lower), else expr."""
    head = _HEAD.match(expression)
    return ident(head.group("name")) if head is not None and head.group("call") else "expr"


def parse_drop_index(text: str) -> DropIndex | None:
    found = _DROP.match(text)
    if found is None or not found.group("names").strip():
        return None
    names = tuple(table_of(n) for n in _split(found.group("names")))
    behavior = (found.group("behavior") or "").upper()
    return DropIndex(names, bool(found.group("exists")), behavior == "CASCADE")
