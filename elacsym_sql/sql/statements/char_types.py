"""The character types a CREATE TABLE declares: `varchar(n)`, `character varying`,
`char(n)`, `character`, `bpchar`, ... (decision 0054).

sqlglot's DuckDB dialect reads all of them as TEXT and drops the length (DuckDB ignores
it), so they are read here from the statement's tokens: each column definition of the
table's list whose type is a character type, with its length when one is given. Arrays
of them (`varchar(5)[]`) are text arrays.
"""

from __future__ import annotations

import sqlglot
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ..parse import DIALECT

# A type's words -> Postgres's type: "varchar" or "bpchar" (blank-padded, CHAR).
_KINDS = {
    "varchar": "varchar",
    "character varying": "varchar",
    "char varying": "varchar",
    "nvarchar": "varchar",
    "char": "bpchar",
    "character": "bpchar",
    "nchar": "bpchar",
    "bpchar": "bpchar",
}
_DEFAULT_LENGTH = {"char", "character", "nchar"}  # CHAR alone is CHAR(1); bpchar has none


def declared_char_types(sql: str) -> dict[str, tuple[str, int | None]]:
    """Column name -> (Postgres type, length or None) for the character columns a CREATE
    TABLE statement declares; {} when the text does not tokenize."""
    found: dict[str, tuple[str, int | None]] = {}
    for item in column_items(sql):
        column = _char_column(item)
        if column is not None:
            found[column[0]] = column[1]
    return found


def column_items(sql: str) -> list[list[Token]]:
    """The tokens of each item of a CREATE TABLE's list (column definitions and table
    constraints); [] when the text does not tokenize."""
    try:
        tokens = sqlglot.tokenize(sql, read=DIALECT)
    except TokenError:
        return []
    opened = next((i for i, t in enumerate(tokens) if t.token_type == TokenType.L_PAREN), None)
    if opened is None:
        return []
    items = []
    depth, start = 0, opened + 1
    for i in range(opened, len(tokens)):
        kind = tokens[i].token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
        if (depth == 1 and kind == TokenType.COMMA) or depth == 0:
            items.append(tokens[start:i])
            start = i + 1
        if depth == 0:
            break
    return items


def column_name(item: list[Token]) -> str | None:
    """The name a column definition's tokens start with (None: not a column definition)."""
    if len(item) < 2 or item[0].token_type == TokenType.STRING:
        return None  # a name may be a keyword's token (`data`, `key`): any word goes
    return item[0].text if item[0].token_type == TokenType.IDENTIFIER else item[0].text.lower()


def _char_column(item: list[Token]) -> tuple[str, tuple[str, int | None]] | None:
    """(name, (type, length)) of a column definition of a character type, else None."""
    name = column_name(item)
    if name is None:
        return None
    words, rest = " ".join(item[1].text.lower().split()), item[2:]
    if rest and words in ("char", "character") and rest[0].text.lower() == "varying":
        words, rest = f"{words} varying", rest[1:]  # the tokenizer may keep them apart
    kind = _KINDS.get(words)
    if kind is None:
        return None
    length = 1 if words in _DEFAULT_LENGTH else None
    if len(rest) >= 3 and rest[0].token_type == TokenType.L_PAREN:
        if rest[1].token_type != TokenType.NUMBER or rest[2].token_type != TokenType.R_PAREN:
            return None
        length, rest = int(rest[1].text), rest[3:]
    if rest and rest[0].token_type == TokenType.L_BRACKET:
        return None  # an array of them
    return name, (kind, length)
