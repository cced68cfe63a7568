"""Names and strings written into the SQL the command runs."""

from __future__ import annotations


def quote(name: str) -> str:
    """An identifier exactly as given (case and all): "My Docs"."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
