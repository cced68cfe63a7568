"""CREATE EXTENSION / DROP EXTENSION.

pgvector's `vector` (its type, operators and index methods) is built in, as is plpgsql:
creating them succeeds, with or without IF NOT EXISTS, so pgvector code runs unchanged
(decision 0028). Any other extension is not available here: 0A000 naming it, as
PostgreSQL 16 words it (15 says the same with 58P01).
"""

from __future__ import annotations

import re

from ...errors import NotSupportedError, UndefinedObject

# Name -> version, as pg_extension shows them (pg_views.py lists the same).
BUILT_IN = {"plpgsql": "1.0", "vector": "0.8.0"}

_CREATE = re.compile(
    r"\s*CREATE\s+EXTENSION\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?(?P<name>\"[^\"]+\"|[\w$]+)"
    r"(?P<rest>\s.*)?$",
    re.IGNORECASE | re.DOTALL,
)
_DROP = re.compile(
    r"\s*DROP\s+EXTENSION\s+(?P<exists>IF\s+EXISTS\s+)?(?P<names>.*?)"
    r"(?:\s+(?:CASCADE|RESTRICT))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
# What may follow the name: [WITH] [SCHEMA s] [VERSION v] [CASCADE].
_CREATE_OPTIONS = re.compile(
    r"(?:\s*WITH)?(?:\s+SCHEMA\s+\S+|\s+VERSION\s+\S+|\s+CASCADE)*\s*$", re.IGNORECASE
)


def _name(word: str) -> str:
    return word[1:-1] if word.startswith('"') else word.lower()


def run_extension_statement(text: str) -> str | None:
    """The command tag of a CREATE/DROP EXTENSION statement, or None for other statements."""
    created = _CREATE.match(text)
    if created is not None:
        name = _name(created.group("name"))
        if created.group("rest") and not _CREATE_OPTIONS.fullmatch(created.group("rest")):
            return None  # not ours to judge: DuckDB reports the syntax error
        if name not in BUILT_IN:
            raise NotSupportedError(
                f'extension "{name}" is not available',
                hint=f"The extensions available here are built in: {', '.join(BUILT_IN)}.",
            )
        return "CREATE EXTENSION"
    dropped = _DROP.match(text)
    if dropped is not None:
        names = [_name(n.strip()) for n in dropped.group("names").split(",") if n.strip()]
        for name in names:
            if name in BUILT_IN:
                raise NotSupportedError(f'extension "{name}" is built in and cannot be dropped')
            if not dropped.group("exists"):
                raise UndefinedObject(f'extension "{name}" does not exist')
        return "DROP EXTENSION"
    return None
