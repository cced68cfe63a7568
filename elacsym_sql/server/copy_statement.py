"""COPY ... FROM STDIN and COPY ... TO STDOUT: what to copy, and in which format.

sqlglot reads the target (a namespace with optional columns, or a query in parentheses);
the options are read here from the tokens, in both Postgres spellings:
`WITH (FORMAT csv, HEADER, DELIMITER ';')` and the older `CSV HEADER DELIMITER ';'`.
COPY from or to a file is not ours: it goes to DuckDB like any other statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from ..errors import InvalidCopyOption, NotSupportedError, SyntaxError
from ..sql.parse import DIALECT, split_statements
from ..sql.statements.ddl import identifier

_MENTIONS_COPY = re.compile(r"\bcopy\b", re.IGNORECASE)
_TRUE = {"TRUE", "ON", "1", "YES", "T"}
_FALSE = {"FALSE", "OFF", "0", "NO", "F"}


@dataclass(frozen=True)
class CopyOptions:
    format: Literal["text", "csv", "binary"] = "text"
    header: bool = False
    delimiter: str = "\t"
    null: str = "\\N"
    quote: str = '"'
    escape: str = '"'
    force_quote: tuple[str, ...] | Literal["*"] = ()


@dataclass(frozen=True)
class CopyRequest:
    direction: Literal["in", "out"]
    namespace: str | None  # COPY name ... (None for a query)
    columns: tuple[str, ...] = ()
    query: str | None = None  # COPY (query) TO STDOUT
    options: CopyOptions = field(default_factory=CopyOptions)
    text: str = ""  # the statement as the client wrote it (a forwarded COPY carries it)
    schema: str | None = None  # as written (`COPY s.t`); None: found along search_path


def mentions_copy(sql: str) -> bool:
    """A cheap filter: only text with the word COPY is tokenized for COPY statements."""
    return _MENTIONS_COPY.search(sql) is not None


def split(sql: str) -> list[str | CopyRequest]:
    """The statements of `sql`: COPY to or from the client parsed, the rest as text."""
    return [parse_copy(s.text) or s.text for s in split_statements(sql)]


def parse_copy(text: str) -> CopyRequest | None:
    """The request of a COPY FROM STDIN / TO STDOUT statement; None for other statements."""
    try:
        tokens = sqlglot.tokenize(text, read=DIALECT)
    except TokenError:
        return None
    if not tokens or tokens[0].token_type != TokenType.COPY:
        return None
    depth = 0
    for i, tok in enumerate(tokens):
        depth += tok.token_type == TokenType.L_PAREN
        depth -= tok.token_type == TokenType.R_PAREN
        word = tok.text.upper()
        if depth == 0 and word in ("STDIN", "STDOUT") and i > 0:
            before = tokens[i - 1].text.upper()
            if (before, word) in (("FROM", "STDIN"), ("TO", "STDOUT")):
                return _request(text, tokens, i)
    return None


def _request(text: str, tokens: list[Token], at: int) -> CopyRequest:
    direction: Literal["in", "out"] = "in" if tokens[at].text.upper() == "STDIN" else "out"
    options = _options(tokens[at + 1 :])
    if tokens[1].token_type == TokenType.L_PAREN:  # COPY (query) TO STDOUT
        if direction == "in":
            raise SyntaxError("COPY (query) FROM STDIN is not possible: copy into a namespace")
        close = _closing(tokens, 1)
        return CopyRequest("out", None, (), text[tokens[1].end + 1 : tokens[close].start], options)
    try:
        tree = sqlglot.parse_one(text[: tokens[at].end + 1], read=DIALECT)
    except (ParseError, TokenError) as exc:
        raise SyntaxError(f"syntax error in COPY: {exc}") from None
    if not isinstance(tree, exp.Copy):
        raise SyntaxError("syntax error in COPY")
    target = tree.this
    columns: tuple[str, ...] = ()
    if isinstance(target, exp.Schema):
        columns = tuple(identifier(c, "column") for c in target.expressions)
        target = target.this
    if not isinstance(target, exp.Table):
        raise SyntaxError("COPY wants a namespace or a query in parentheses")
    name = identifier(target.this, "namespace")
    schema = identifier(target.args["db"], "schema") if target.db else None
    if schema == "main":
        schema = "public"
    if schema is not None and schema != "public":
        name = f"{schema}.{name}"  # a table of schema s is the namespace "s.t" (0033)
    return CopyRequest(direction, name, columns, None, options, text, schema)


def _closing(tokens: list[Token], start: int) -> int:
    depth = 0
    for i in range(start, len(tokens)):
        depth += tokens[i].token_type == TokenType.L_PAREN
        depth -= tokens[i].token_type == TokenType.R_PAREN
        if depth == 0:
            return i
    raise SyntaxError("unbalanced parentheses in COPY")


# -- options ---------------------------------------------------------------------------


def _options(tokens: list[Token]) -> CopyOptions:
    found: dict[str, object] = {}
    if tokens and tokens[0].token_type == TokenType.WITH:
        tokens = tokens[1:]
    if tokens and tokens[0].token_type == TokenType.L_PAREN:
        if tokens[-1].token_type != TokenType.R_PAREN:
            raise SyntaxError("COPY options: missing ')'")
        for item in _items(tokens[1:-1]):
            name = item[0].text.upper()
            _option(found, name, item[1:])
    else:
        _legacy(found, tokens)
    return _build(found)


def _items(tokens: list[Token]) -> list[list[Token]]:
    items: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        depth += tok.token_type == TokenType.L_PAREN
        depth -= tok.token_type == TokenType.R_PAREN
        if tok.token_type == TokenType.COMMA and depth == 0:
            items.append([])
        else:
            items[-1].append(tok)
    if any(not item for item in items):
        raise SyntaxError("COPY options: empty option")
    return items


def _option(found: dict[str, object], name: str, value: list[Token]) -> None:
    if name in found:
        raise InvalidCopyOption("conflicting or redundant options")
    if name == "FORMAT":
        fmt = _word(value, name).lower()
        if fmt not in ("text", "csv", "binary"):
            raise InvalidCopyOption(f'COPY format "{fmt}" not recognized')
        found[name] = fmt
    elif name in ("DELIMITER", "NULL", "QUOTE", "ESCAPE", "ENCODING"):
        if len(value) != 1 or value[0].token_type != TokenType.STRING:
            raise InvalidCopyOption(f"COPY option {name} wants a string")
        found[name] = value[0].text
    elif name in ("HEADER", "FREEZE"):
        word = _word(value, name).upper() if value else "TRUE"
        if word not in _TRUE | _FALSE | {"MATCH"}:
            raise InvalidCopyOption(f"{name} requires a Boolean value")
        found[name] = word not in _FALSE
    elif name == "FORCE_QUOTE":
        found[name] = _column_list(value)
    elif name in ("FORCE_NOT_NULL", "FORCE_NULL"):
        raise NotSupportedError(f"COPY option {name} is not supported")
    else:
        raise InvalidCopyOption(f'option "{name.lower()}" not recognized')


def _word(value: list[Token], name: str) -> str:
    if len(value) != 1:
        raise InvalidCopyOption(f"COPY option {name} wants one value")
    return value[0].text


def _column_list(value: list[Token]) -> tuple[str, ...] | str:
    if len(value) == 1 and value[0].token_type == TokenType.STAR:
        return "*"
    inner = value[1:-1] if value and value[0].token_type == TokenType.L_PAREN else value
    names = [t for t in inner if t.token_type != TokenType.COMMA]
    return tuple(t.text if t.token_type == TokenType.IDENTIFIER else t.text.lower() for t in names)


def _legacy(found: dict[str, object], tokens: list[Token]) -> None:
    """CSV, BINARY, HEADER, DELIMITER [AS] 'x', NULL [AS] 'x', QUOTE [AS] 'x', ESCAPE [AS] 'x',
    FORCE QUOTE cols|* (Postgres's spelling before 9.0, still what psql's \\copy passes)."""
    i = 0
    while i < len(tokens):
        word = tokens[i].text.upper()
        i += 1
        if word in ("CSV", "BINARY"):
            _option(found, "FORMAT", [_as_token(word.lower())])
        elif word == "HEADER":
            _option(found, "HEADER", [])
        elif word in ("DELIMITER", "NULL", "QUOTE", "ESCAPE", "ENCODING"):
            if i < len(tokens) and tokens[i].text.upper() == "AS":
                i += 1
            _option(found, word, tokens[i : i + 1])
            i += 1
        elif word == "FORCE" and i < len(tokens) and tokens[i].text.upper() == "QUOTE":
            rest = tokens[i + 1 :]
            end = next((j for j, t in enumerate(rest) if t.text.upper() in _LEGACY), len(rest))
            _option(found, "FORCE_QUOTE", rest[:end])
            i += 1 + end
        else:
            raise SyntaxError(f'syntax error at or near "{tokens[i - 1].text}" in COPY')


_LEGACY = {"CSV", "BINARY", "HEADER", "DELIMITER", "NULL", "QUOTE", "ESCAPE", "FORCE"}


def _as_token(text: str) -> Token:
    return Token(TokenType.VAR, text)


def _build(found: dict[str, object]) -> CopyOptions:
    fmt = str(found.get("FORMAT", "text"))
    csv = fmt == "csv"
    delimiter = str(found.get("DELIMITER", "," if csv else "\t"))
    quote = str(found.get("QUOTE", '"'))
    escape = str(found.get("ESCAPE", quote))
    if fmt == "binary" and any(k in found for k in ("DELIMITER", "NULL", "HEADER")):
        raise InvalidCopyOption("cannot specify DELIMITER, NULL or HEADER in BINARY mode")
    if not csv and any(k in found for k in ("QUOTE", "ESCAPE", "FORCE_QUOTE")):
        raise InvalidCopyOption("QUOTE, ESCAPE and FORCE_QUOTE are available only in CSV mode")
    if len(delimiter) != 1 or delimiter in "\r\n":
        raise InvalidCopyOption("COPY delimiter must be a single one-byte character")
    if len(quote) != 1 or len(escape) != 1:
        raise InvalidCopyOption("COPY quote and escape must be single one-byte characters")
    if csv and delimiter == quote:
        raise InvalidCopyOption("COPY delimiter and quote must be different")
    force = found.get("FORCE_QUOTE", ())
    return CopyOptions(
        format=fmt,  # type: ignore[arg-type]
        header=bool(found.get("HEADER", False)),
        delimiter=delimiter,
        null=str(found.get("NULL", "" if csv else "\\N")),
        quote=quote,
        escape=escape,
        force_quote=force,  # type: ignore[arg-type]
    )
