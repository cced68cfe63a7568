"""COMMENT ON TABLE / COLUMN / CONSTRAINT / INDEX of a namespace: checked as Postgres checks
them (42P01, 42703, 42704 for what does not exist), kept in the namespace's schema through
the engine (a manifest commit, like other DDL: decision 0053), answered `COMMENT`.
`IS NULL` (or '') removes a comment. Comments on DuckDB's own tables and views are DuckDB's
to keep (None: the statement runs there); pg_comments.py shows both kinds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping

from ...engine import Engine, Snapshot
from ...errors import UndefinedColumn, UndefinedObject
from ...schema import Schema
from .indexes import NAME, ident, table_of

_QUALIFIED = rf"{NAME}(?:\s*\.\s*{NAME}){{0,2}}"
_LITERAL = (  # NULL, 'text', E'escaped', $tag$dollar-quoted$tag$
    r"(?P<value>NULL|[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'"
    r"|\$(?P<tag>\w*)\$.*?\$(?P=tag)\$)"
)
_COMMENT = re.compile(
    r"\s*COMMENT\s+ON\s+(?P<kind>TABLE|COLUMN|CONSTRAINT|INDEX)\s+"
    rf"(?:(?P<constraint>{NAME})\s+ON\s+)?(?P<target>{_QUALIFIED})\s+IS\s+{_LITERAL}\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_PARTS = re.compile(rf"\s*({NAME})\s*(?:\.|$)")
_ESCAPE = re.compile(
    r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S
)
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def run_comment(
    text: str,
    engine: Engine,
    schema_of: Callable[[str], Schema | None],
    indexes: Callable[[], Mapping[str, tuple[str, str]]],
) -> tuple[str, str] | None:
    """Keep a COMMENT on a namespace's object: returns (the namespace, "COMMENT"), or None
    for a statement that is not one (DuckDB's own objects included)."""
    found = _COMMENT.match(text)
    if found is None:
        return None
    kind, value = found.group("kind").lower(), comment_text(found.group("value"))
    target = _commented(found, indexes)
    if target is None:
        return None
    table, name = target
    schema = schema_of(table)
    if schema is None:
        return None
    if kind == "index" and schema.pg_schema != "public":
        name = name[len(schema.pg_schema) + 1 :]
    _check_exists(schema, kind, name, [c.name for c in schema.visible])

    def change(snap: Snapshot) -> Schema:
        _check_exists(snap.schema, kind, name, [c.name for c in snap.schema.visible])
        return snap.schema.with_comment(kind, name, value)

    engine.change_schema(table, change)
    return table, "COMMENT"


def comment_table(text: str, indexes: Callable[[], Mapping[str, tuple[str, str]]]) -> str | None:
    """The table whose object a COMMENT statement comments on (not checked to exist), or
    None for any other statement."""
    found = _COMMENT.match(text)
    target = _commented(found, indexes) if found is not None else None
    return None if target is None else target[0]


def _commented(
    found: re.Match[str], indexes: Callable[[], Mapping[str, tuple[str, str]]]
) -> tuple[str, str] | None:
    """(table, name of the object in it) that a matched COMMENT names; None when it names
    none of ours."""
    kind = found.group("kind").lower()
    parts = [ident(p) for p in _PARTS.findall(found.group("target"))]
    if kind == "index":
        owner = indexes().get(table_of(found.group("target")) or "")
        return None if owner is None else (owner[0], parts[-1])  # "<schema>.<index>"
    if kind == "column":
        if len(parts) < 2:
            return None
        table = table_of(".".join(f'"{p}"' for p in parts[:-1]))
        return None if table is None else (table, parts[-1])
    table = table_of(found.group("target"))
    name = ident(found.group("constraint")) if kind == "constraint" else ""
    return None if table is None else (table, name)


def _check_exists(schema: Schema, kind: str, name: str, columns: Collection[str]) -> None:
    if kind == "column" and name not in columns:
        raise UndefinedColumn(f'column "{name}" of relation "{schema.relname}" does not exist')
    if kind == "constraint":
        names = [*schema.constraints.names, *([schema.pkey_name] if schema.declared_key else [])]
        if name not in names:
            raise UndefinedObject(
                f'constraint "{name}" for table "{schema.relname}" does not exist'
            )


def comment_text(literal: str) -> str | None:
    """The text of a COMMENT's literal ('...', E'...', $$...$$); None for NULL or ''."""
    if literal.upper() == "NULL":
        return None
    if literal.startswith("$"):
        text = literal[literal.index("$", 1) + 1 : literal.rindex("$", 0, -1)]
    elif literal[0] in "Ee":
        text = _ESCAPE.sub(_unescape, literal[2:-1].replace("''", "'"))
    else:
        text = literal[1:-1].replace("''", "'")
    return text or None


def _unescape(m: re.Match[str]) -> str:
    octal, byte, short, long, other = m.groups()
    if other is not None:
        return _ESCAPES.get(other, other)
    return chr(int(octal, 8) if octal else int(byte or short or long, 16))
