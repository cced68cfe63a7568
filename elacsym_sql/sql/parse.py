"""Statement splitting and inspection with sqlglot's DuckDB dialect.

Statement kinds come from the parser, never from substrings. Text that sqlglot cannot
read is handed to DuckDB untouched: DuckDB is the judge of what is valid SQL.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from ..schema import NAME_RE

DIALECT = "duckdb"


@dataclass(frozen=True)
class Statement:
    text: str  # the text as written (spaced parameters aside), without the semicolon
    tree: exp.Expression | None  # None when sqlglot cannot parse it

    @property
    def placeholders(self) -> int:
        return count_placeholders(self.text)


# sqlglot cannot tokenize a numbered parameter glued to what precedes it (`VALUES ($1,$2)`
# fails); a space before each `$n` outside literals (dollar-quoted too), comments and quoted
# names changes nothing for DuckDB.
_GLUED_PARAMETER = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|\$((?:[A-Za-z_]\w*)?)\$.*?\$\1\$"""
    r"|(?<=\S)\$(?=[0-9])",
    re.DOTALL,
)


def _space_parameters(sql: str) -> str:
    if "$" not in sql:
        return sql
    return _GLUED_PARAMETER.sub(lambda m: " $" if m.group() == "$" else m.group(), sql)


def split_statements(sql: str) -> list[Statement]:
    """The statements of `sql` in order, each with its text and parse tree. Parsed once
    per text: drivers and applications send the same statements again and again, and
    parsing costs more than running a small query. Callers never modify the trees. Long
    texts (bulk INSERT ... VALUES) are not kept: rarely repeated, and large."""
    if len(sql) > _CACHED_TEXT:
        return _split(sql)
    return list(_split_cached(sql))


_CACHED_TEXT = 4096  # characters


@functools.lru_cache(maxsize=1024)
def _split_cached(sql: str) -> tuple[Statement, ...]:
    return tuple(_split(sql))


def _split(sql: str) -> list[Statement]:
    sql = _space_parameters(sql)
    try:
        tokens = sqlglot.tokenize(sql, read=DIALECT)
    except TokenError:
        return [Statement(sql.strip(), None)]
    pieces: list[str] = []
    start = 0
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            pieces.append(sql[start : tok.start])
            start = tok.end + 1
    pieces.append(sql[start:])
    return [Statement(p.strip(), _parse(p)) for p in pieces if _has_code(p)]


def _has_code(text: str) -> bool:
    try:
        return bool(sqlglot.tokenize(text, read=DIALECT))
    except TokenError:
        return bool(text.strip())


def _parse(text: str) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(text, read=DIALECT)
    except (ParseError, TokenError):
        return None


def count_placeholders(text: str) -> int:
    """How many parameters the statement takes ('?' each, or the highest '$n')."""
    try:
        tokens = sqlglot.tokenize(text, read=DIALECT)
    except TokenError:
        return 0
    qmarks, numbered = 0, 0
    for i, tok in enumerate(tokens):
        if tok.token_type == TokenType.PLACEHOLDER and tok.text == "?":
            qmarks += 1
        elif tok.token_type == TokenType.PARAMETER and i + 1 < len(tokens):
            nxt = tokens[i + 1]
            if nxt.token_type == TokenType.NUMBER and nxt.start == tok.end + 1:
                numbered = max(numbered, int(nxt.text))
    return qmarks or numbered


def number_placeholders(text: str) -> str:
    """Rewrite '?' parameters as $1, $2, ... in textual order.

    Generated SQL moves clauses around; numbered parameters keep their binding.
    """
    tokens = sqlglot.tokenize(text, read=DIALECT)
    out, last, n = [], 0, 0
    for tok in tokens:
        if tok.token_type == TokenType.PLACEHOLDER and tok.text == "?":
            n += 1
            out.append(text[last : tok.start])
            out.append(f"${n}")
            last = tok.end + 1
    out.append(text[last:])
    return "".join(out)


def table_name(table: exp.Table) -> str | None:
    """The namespace a table reference may name: unqualified (or main.) and well formed."""
    if table.args.get("catalog") or (table.db and table.db.lower() != "main"):
        return None
    ident = table.this
    if not isinstance(ident, exp.Identifier):
        return None
    name = ident.name if ident.quoted else ident.name.lower()
    return name if NAME_RE.fullmatch(name) else None


def referenced_tables(tree: exp.Expression) -> set[str]:
    """Names of the tables a statement reads or writes, without its CTE names."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    names = set()
    for table in tree.find_all(exp.Table):
        name = table_name(table)
        if name and name not in ctes:
            names.add(name)
    return names
