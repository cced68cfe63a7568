"""The command tag Postgres answers a statement with, read from its leading words.

Utility statements (DROP, ANALYZE, VACUUM, COMMENT, CREATE/DROP SCHEMA/VIEW, ...) answer
with their tag and no rows, as in Postgres; DuckDB answers them with a one-row 'Success'
or an empty 'Count' result, which a client would read as a result set (JDBC's
executeUpdate refuses one). Words, not a parse tree: sqlglot reads many utility statements
as an opaque Command, and DuckDB-only ones (PRAGMA, SUMMARIZE) not at all.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Statements that return rows. EXECUTE returns its prepared statement's rows, if any.
ROW_VERBS = _words("SELECT VALUES TABLE WITH FROM SHOW DESCRIBE EXPLAIN SUMMARIZE PRAGMA CALL "
                   "FETCH EXECUTE (")  # fmt: skip
_SKIPPED = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)
_WORD = re.compile(r"\(|[A-Za-z_][A-Za-z_0-9]*")
# Words between CREATE and the kind of object, which Postgres's tag leaves out.
_MODIFIERS = _words("OR REPLACE TEMP TEMPORARY UNLOGGED GLOBAL LOCAL UNIQUE RECURSIVE "
                    "TRUSTED PROCEDURAL CONCURRENTLY PERSISTENT")  # fmt: skip
# Kinds named by two words.
_TWO_WORD_KINDS = frozenset({"MATERIALIZED", "FOREIGN", "EVENT", "TEXT", "ACCESS", "OPERATOR"})
_SAME = {"ANALYSE": "ANALYZE", "TRUNCATE": "TRUNCATE TABLE", "USER": "ROLE"}


def leading_words(text: str, n: int = 8) -> list[str]:
    """The first `n` words of a statement, upper-cased (`(` counts as a word)."""
    words: list[str] = []
    pos = _SKIPPED.match(text).end()  # type: ignore[union-attr]
    while len(words) < n:
        found = _WORD.match(text, pos)
        if found is None:
            break
        words.append(found.group().upper())
        pos = _SKIPPED.match(text, found.end()).end()  # type: ignore[union-attr]
    return words


def returns_rows(text: str) -> bool:
    words = leading_words(text, 1)
    return bool(words) and words[0] in ROW_VERBS


def command_tag(text: str) -> str:
    """Postgres's tag for a statement that returns no rows ('DROP TABLE', 'VACUUM', ...)."""
    words = leading_words(text)
    if not words:
        return "EMPTY"
    verb = words[0]
    if verb in ("CREATE", "DROP", "ALTER"):
        rest = [w for w in words[1:] if w not in _MODIFIERS] if verb == "CREATE" else words[1:]
        if not rest:
            return verb
        kind = rest[0]
        if kind in _TWO_WORD_KINDS and len(rest) > 1:
            kind = f"{kind} {rest[1]}"
        return f"{verb} {_SAME.get(kind, kind)}"
    if verb == "DISCARD" and len(words) > 1:
        return f"DISCARD {'TEMP' if words[1] == 'TEMPORARY' else words[1]}"
    return _SAME.get(verb, verb)
