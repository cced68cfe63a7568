"""Recognise transaction-control statements and read their savepoint names.

The grammar is Postgres's (BEGIN / START TRANSACTION / COMMIT / END / ROLLBACK / ABORT,
SAVEPOINT, RELEASE [SAVEPOINT], ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT]). It is read
from a small lexer of our own rather than sqlglot's: sqlglot turns `SAVEPOINT` and
`RELEASE` into opaque commands whose remainder keeps its quotes, while `ROLLBACK TO` gets
a real identifier, so names compared across the two never matched
(docs/decisions/0017-transaction-control-parsing.md). Names follow Postgres: unquoted
words fold to lower case, quoted identifiers keep their case and may contain anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Verb = Literal["begin", "commit", "rollback", "savepoint", "release", "rollback_to"]

_TOKEN = re.compile(
    r"""\s+|--[^\n]*|(?P<word>[A-Za-z_][A-Za-z0-9_$]*)|"(?P<quoted>(?:[^"]|"")*)"|(?P<semi>;)"""
)
_NOISE = ("WORK", "TRANSACTION")  # BEGIN WORK, COMMIT TRANSACTION, ...


@dataclass(frozen=True)
class Control:
    verb: Verb
    savepoint: str | None = None  # for savepoint, release and rollback_to


@dataclass(frozen=True)
class _Token:
    text: str  # upper case for words, as written for quoted identifiers
    name: str  # the identifier it denotes: lower-cased word, or quoted text
    quoted: bool


def _tokens(sql: str) -> list[_Token] | None:
    """Words and quoted identifiers; None at anything else (not a control statement)."""
    out: list[_Token] = []
    pos = 0
    while pos < len(sql):
        if sql.startswith("/*", pos):
            pos = _skip_block_comment(sql, pos)
            continue
        m = _TOKEN.match(sql, pos)
        if m is None:
            return None
        pos = m.end()
        if m.group("word") is not None:
            word = m.group("word")
            out.append(_Token(word.upper(), word.lower(), False))
        elif m.group("quoted") is not None:
            name = m.group("quoted").replace('""', '"')
            out.append(_Token(name, name, True))
        elif m.group("semi") is not None and sql[pos:].strip():
            return None  # something after the semicolon: not one control statement
    return out


def _skip_block_comment(sql: str, pos: int) -> int:
    """Past a /* ... */ comment; they nest in Postgres."""
    depth, pos = 1, pos + 2
    while depth and pos < len(sql):
        if sql.startswith("/*", pos):
            depth, pos = depth + 1, pos + 2
        elif sql.startswith("*/", pos):
            depth, pos = depth - 1, pos + 2
        else:
            pos += 1
    return pos


def _word(tokens: list[_Token], i: int) -> str | None:
    return tokens[i].text if i < len(tokens) and not tokens[i].quoted else None


def _savepoint_name(tokens: list[_Token], i: int) -> str | None:
    """The name at i (after an optional SAVEPOINT keyword), when it ends the statement."""
    if _word(tokens, i) == "SAVEPOINT" and i + 1 < len(tokens):
        i += 1
    return tokens[i].name if i == len(tokens) - 1 else None


def parse_control(sql: str) -> Control | None:
    """The transaction-control statement `sql` is, or None when it is none."""
    head = sql.lstrip()[:9].upper()
    if not head.startswith(
        ("BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "/*", "--")
    ):
        return None  # the common case (SELECT, INSERT, ...) without lexing
    tokens = _tokens(sql)
    if not tokens or tokens[0].quoted:
        return None
    first = tokens[0].text
    if first == "BEGIN" or (first == "START" and _word(tokens, 1) == "TRANSACTION"):
        return Control("begin")  # isolation levels and access modes are accepted as given
    if first in ("COMMIT", "END"):
        return Control("commit")
    if first == "SAVEPOINT":
        name = tokens[1].name if len(tokens) == 2 else None
        return Control("savepoint", name) if name is not None else None
    if first == "RELEASE":
        name = _savepoint_name(tokens, 1)
        return Control("release", name) if name is not None else None
    if first in ("ROLLBACK", "ABORT"):
        i = 2 if _word(tokens, 1) in _NOISE else 1
        if _word(tokens, i) == "TO":
            name = _savepoint_name(tokens, i + 1)
            return Control("rollback_to", name) if name is not None else None
        return Control("rollback")
    return None
