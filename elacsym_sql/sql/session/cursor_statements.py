"""DECLARE, FETCH, MOVE and CLOSE read into what they ask (Postgres's grammar).

sqlglot reads none of them; a small lexer of words, quoted identifiers and integers does,
and DECLARE's query is the rest of the text after FOR, run as its own statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import NotSupportedError, SyntaxError

_TOKEN = re.compile(
    r"""\s+|--[^\n]*|(?P<word>[A-Za-z_][A-Za-z0-9_$]*)|"(?P<quoted>(?:[^"]|"")*)"|"""
    r"""(?P<number>[+-]?\d+)|(?P<semi>;)"""
)


@dataclass(frozen=True)
class Declare:
    name: str
    query: str
    binary: bool
    hold: bool
    text: str  # the whole statement


@dataclass(frozen=True)
class Fetch:
    name: str
    count: int | None  # rows forward (negative: backward; None: every row left)
    move: bool  # MOVE: skip the rows instead of returning them
    absolute: int | None = None  # FETCH ABSOLUTE n: the row number wanted


@dataclass(frozen=True)
class Close:
    name: str | None  # None: CLOSE ALL


CursorStatement = Declare | Fetch | Close


@dataclass(frozen=True)
class _Tok:
    kind: str  # word, quoted, number
    text: str  # upper case for words
    name: str  # the identifier a word or quoted token denotes
    end: int


def _lex(sql: str, until: str | None = None) -> list[_Tok]:
    """The tokens of `sql`, or of its head up to the word `until`."""
    out: list[_Tok] = []
    pos = 0
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if m is None:
            raise SyntaxError(f'syntax error at or near "{sql[pos:].split()[0]}"')
        pos = m.end()
        if m.group("word") is not None:
            word = m.group("word")
            out.append(_Tok("word", word.upper(), word.lower(), pos))
            if word.upper() == until:
                break
        elif m.group("quoted") is not None:
            name = m.group("quoted").replace('""', '"')
            out.append(_Tok("quoted", name, name, pos))
        elif m.group("number") is not None:
            out.append(_Tok("number", m.group("number"), "", pos))
        elif m.group("semi") is not None and sql[pos:].strip():
            raise SyntaxError("cannot insert multiple commands into a cursor statement")
    return out


def parse_cursor_statement(sql: str) -> CursorStatement | None:
    """The cursor statement `sql` is, or None when it is none."""
    head = sql.lstrip()[:7].upper()
    if not head.startswith(("DECLARE", "FETCH", "MOVE", "CLOSE")):
        return None
    if head.startswith("DECLARE"):
        return _declare(sql)
    tokens = _lex(sql)
    verb = tokens[0].text
    if verb == "CLOSE":
        if len(tokens) != 2:
            raise SyntaxError("syntax error in CLOSE: CLOSE name or CLOSE ALL")
        if tokens[1].kind == "word" and tokens[1].text == "ALL":
            return Close(None)
        return Close(_identifier(tokens[1]))
    return _fetch(tokens, move=verb == "MOVE")


def _identifier(tok: _Tok) -> str:
    if tok.kind == "number":
        raise SyntaxError(f'syntax error at or near "{tok.text}"')
    return tok.name


def _declare(sql: str) -> Declare:
    tokens = _lex(sql, until="FOR")  # the head: DECLARE name options CURSOR [hold] FOR
    words = [t.text if t.kind == "word" else "" for t in tokens]
    if len(tokens) < 4:
        raise SyntaxError("syntax error at end of input")
    name = _identifier(tokens[1])
    i, binary = 2, False
    while i < len(words) and words[i] in ("BINARY", "ASENSITIVE", "INSENSITIVE", "NO", "SCROLL"):
        if words[i] == "SCROLL" and words[i - 1] != "NO":
            raise NotSupportedError(
                "SCROLL cursors are not supported", hint="cursors here scan forward only"
            )
        binary = binary or words[i] == "BINARY"
        i += 1
    if words[i : i + 1] != ["CURSOR"]:
        raise SyntaxError(f'syntax error at or near "{tokens[i].text if i < len(tokens) else ""}"')
    i += 1
    hold = False
    if words[i : i + 2] in (["WITH", "HOLD"], ["WITHOUT", "HOLD"]):
        hold = words[i] == "WITH"
        i += 2
    if words[i : i + 1] != ["FOR"]:
        raise SyntaxError(f'syntax error at or near "{tokens[i].text if i < len(tokens) else ""}"')
    return Declare(name, sql[tokens[i].end :].strip(), binary, hold, sql.strip())


def _fetch(tokens: list[_Tok], move: bool) -> Fetch:
    """FETCH/MOVE [direction] [FROM | IN] name."""
    rest = tokens[1:]
    if len(rest) >= 2 and rest[-2].kind == "word" and rest[-2].text in ("FROM", "IN"):
        del rest[-2]
    if not rest:
        raise SyntaxError("syntax error at end of input")
    name = _identifier(rest[-1])
    direction = [t.text for t in rest[:-1]]
    count: int | None = 1
    absolute = None
    match direction:
        case [] | ["NEXT"] | ["FORWARD"]:
            pass
        case ["ALL"] | ["FORWARD", "ALL"]:
            count = None
        case [n] | ["FORWARD", n] | ["RELATIVE", n] if _is_int(n):
            count = int(n)
            if direction[:1] == ["RELATIVE"] and count == 0:
                raise NotSupportedError("FETCH RELATIVE 0 is not supported")
        case ["ABSOLUTE", n] if _is_int(n):
            absolute = int(n)
        case ["FIRST"]:
            absolute = 1
        case ["PRIOR"] | ["LAST"] | ["BACKWARD", *_]:
            count = -1
        case _:
            raise SyntaxError(f'syntax error at or near "{" ".join(direction)}"')
    return Fetch(name, count, move, absolute)


def _is_int(text: str) -> bool:
    return text.lstrip("+-").isdigit()
