"""COMMENT ON CONSTRAINT and COMMENT ON INDEX for namespaces: checked as Postgres checks them
(42704 for a constraint the table does not have) and answered `COMMENT`. DuckDB has no
constraints to comment on, and does not know the namespaces' indexes. The text is not kept:
the catalog shows no comments (pg_description is empty), as for COMMENT ON TABLE."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from ..errors import UndefinedObject
from ..schema import Schema
from .indexes import NAME, ident, table_of

_CONSTRAINT = re.compile(
    rf"\s*COMMENT\s+ON\s+CONSTRAINT\s+(?P<name>{NAME})\s+ON\s+"
    rf"(?P<table>(?:{NAME}\s*\.\s*)?{NAME})\s+IS\s",
    re.IGNORECASE | re.DOTALL,
)
_INDEX = re.compile(
    rf"\s*COMMENT\s+ON\s+INDEX\s+(?P<name>(?:{NAME}\s*\.\s*)?{NAME})\s+IS\s",
    re.IGNORECASE | re.DOTALL,
)


def run_comment(
    text: str,
    schema_of: Callable[[str], Schema | None],
    indexes: Callable[[], Collection[str]],
) -> str | None:
    """The tag of a COMMENT on a namespace's constraint or index; None for other ones."""
    found = _CONSTRAINT.match(text)
    if found is not None:
        table = table_of(found.group("table"))
        schema = schema_of(table) if table else None
        if schema is None:
            return None
        name = ident(found.group("name"))
        names = [*schema.constraints.names, *([schema.pkey_name] if schema.declared_key else [])]
        if name not in names:
            raise UndefinedObject(f'constraint "{name}" for table "{table}" does not exist')
        return "COMMENT"
    found = _INDEX.match(text)
    if found is not None:
        name = table_of(found.group("name"))
        return "COMMENT" if name is not None and name in indexes() else None
    return None
