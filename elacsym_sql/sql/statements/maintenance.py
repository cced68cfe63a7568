"""VACUUM and ANALYZE: checked, then answered with their command tags.

Postgres's VACUUM reclaims dead tuples and ANALYZE samples statistics for its planner.
Here segments are immutable (compaction drops deleted rows: `CALL elacsym_compact`) and
DuckDB reads Parquet statistics itself, so there is nothing to do; but tools run both
(pgbench -i, ORMs' migrations, BI refreshes), and DuckDB refuses them on namespaces, which
it sees as views (42804). As in Postgres, each table named must exist (42P01), each column
listed must be one of its columns (42703), and VACUUM cannot run inside a block (25001).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ...errors import ActiveSqlTransaction, SyntaxError, UndefinedColumn, UndefinedTable
from ...schema import Schema

_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_STATEMENT = re.compile(r"\s*(?P<verb>VACUUM|ANALY[SZ]E)\b(?P<rest>.*?)[\s;]*$", re.I | re.S)
_OPTIONS = re.compile(r"\s*\((?:[^()'\"]|'[^']*'|\"[^\"]*\")*\)", re.S)  # VACUUM (FULL, ...)
_FLAG = re.compile(r"\s*(?:FULL|FREEZE|VERBOSE|ANALY[SZ]E)\b", re.I)
_TARGET = re.compile(
    rf"\s*(?P<table>(?:{_NAME}\s*\.\s*)?{_NAME})\s*(?:\((?P<columns>[^()]*)\))?\s*$", re.S
)


def _ident(text: str) -> str:
    text = text.strip()
    return text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()


def _split_names(text: str) -> list[str]:
    """`a, "b,c" (x, y)` -> ['a', '"b,c" (x, y)']: commas outside quotes and parentheses."""
    parts, depth, quoted, begin = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
        elif not quoted and ch == "," and depth == 0:
            parts.append(text[begin:i])
            begin = i + 1
    return [*parts, text[begin:]]


def run_maintenance(
    text: str,
    schema_of: Callable[[str], Schema | None],
    relation_exists: Callable[[str], bool],
    in_block: bool,
) -> str | None:
    """The tag of a VACUUM or ANALYZE statement (after checking what it names), or None
    for any other statement. `schema_of` gives a namespace's schema (None: not one);
    `relation_exists` tells whether DuckDB has another relation of that name."""
    found = _STATEMENT.match(text)
    if found is None:
        return None
    verb = found.group("verb").upper()
    verb = "VACUUM" if verb == "VACUUM" else "ANALYZE"
    if verb == "VACUUM" and in_block:
        raise ActiveSqlTransaction("VACUUM cannot run inside a transaction block")
    rest = found.group("rest")
    options = _OPTIONS.match(rest)
    if options is not None:
        rest = rest[options.end() :]
    while (flag := _FLAG.match(rest)) is not None:
        rest = rest[flag.end() :]
    if not rest.strip():
        return verb
    for part in _split_names(rest):
        target = _TARGET.match(part)
        if target is None:
            raise SyntaxError(f"syntax error in {verb}: {part.strip()!r}")
        _check_target(target.group("table"), target.group("columns"), schema_of, relation_exists)
    return verb


def _check_target(
    written: str,
    columns: str | None,
    schema_of: Callable[[str], Schema | None],
    relation_exists: Callable[[str], bool],
) -> None:
    parts = [_ident(p) for p in re.split(r"\.(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", written)]
    name = parts[-1]
    ours = len(parts) == 1 or parts[0] in ("public", "main")
    schema = schema_of(name) if ours else None
    if schema is None:
        if not relation_exists(name):
            raise UndefinedTable(f'relation "{".".join(parts)}" does not exist')
        return
    visible = {c.name for c in schema.visible}
    for column in (_ident(c) for c in (columns or "").split(",") if c.strip()):
        if column not in visible:
            raise UndefinedColumn(f'column "{column}" of relation "{name}" does not exist')
