"""Statement splitting and inspection with sqlglot's DuckDB dialect.

Statement kinds come from the parser, never from substrings. Text that sqlglot cannot
read is handed to DuckDB untouched: DuckDB is the judge of what is valid SQL, and of
where a syntax error is (`front_door_error`).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.tokens import TokenType

from ..errors import SyntaxError
from ..schema import is_name

DIALECT = "duckdb"


class _AtDebugLevel(logging.Filter):
    """sqlglot's warnings quote the statement, i.e. client SQL: debug level only."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger("sqlglot").isEnabledFor(logging.DEBUG)


logging.getLogger("sqlglot").addFilter(_AtDebugLevel())


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
        tree = sqlglot.parse_one(text, read=DIALECT)
    except (ParseError, TokenError):
        return None
    return tree if _whole(tree) else None


def _whole(tree: exp.Expression) -> bool:
    """sqlglot reads some broken text into trees with holes ('DELETE?' deletes from no
    table): those are not read either, and DuckDB's parser says what is wrong."""
    if isinstance(tree, exp.Insert | exp.Update | exp.Delete):
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        return isinstance(target, exp.Table)
    return True


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

    Generated SQL moves clauses around; numbered parameters keep their binding. Each `$n`
    gets a space before it: sqlglot cannot read one glued to what precedes it ('($1').
    """
    tokens = sqlglot.tokenize(text, read=DIALECT)
    out, last, n = [], 0, 0
    for tok in tokens:
        if tok.token_type == TokenType.PLACEHOLDER and tok.text == "?":
            n += 1
            out.append(text[last : tok.start])
            out.append(f" ${n}")
            last = tok.end + 1
    out.append(text[last:])
    return "".join(out)


# -- syntax errors at the front doors ------------------------------------------------------


def syntax_error(exc: SqlglotError) -> SyntaxError:
    """sqlglot's exception as ours: its message names sqlglot's classes and carries
    terminal colour codes, so only the place is kept."""
    found = exc.errors[0] if isinstance(exc, ParseError) and exc.errors else {}
    near = found.get("highlight")
    return SyntaxError(f'syntax error at or near "{near}"' if near else "syntax error")


def front_door_error(exc: BaseException, sql: str) -> BaseException:
    """What a front door (embedded cursor, wire session) raises for `exc`, an error while
    running `sql`: sqlglot's exceptions become SyntaxError (42601), and a syntax error in
    text DuckDB's parser rejects takes that parser's message and position in `sql`
    (ElacsymError.position, Postgres's P field). Our message may name rewritten SQL;
    the client's own text is what the client can fix."""
    if isinstance(exc, SqlglotError):
        exc = syntax_error(exc)
    if not isinstance(exc, SyntaxError) or exc.position is not None:
        return exc
    found = _duckdb_syntax_error(sql)
    if found is not None:
        message, exc.position = found
        exc.message, exc.detail = message.partition("\n")[0], None
        exc.args = (exc.message,)
    return exc


@contextmanager
def front_door(sql: str) -> Iterator[None]:
    """Errors raised inside, while running `sql`, leave as `front_door_error` makes them."""
    try:
        yield
    except Exception as exc:
        err = front_door_error(exc, sql)
        if err is exc:
            raise
        raise err from None


@functools.cache
def _parser() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET errors_as_json = true")  # the place as a number, not a drawing
    return con


_parser_lock = threading.Lock()  # one DuckDB connection is not for concurrent use


def _duckdb_syntax_error(sql: str) -> tuple[str, int] | None:
    """(message, 1-based character position) of DuckDB's parser's first syntax error in
    `sql`, or None when it parses (only parses: nothing runs)."""
    try:
        with _parser_lock:
            _parser().extract_statements(sql)
        return None
    except duckdb.ParserException as exc:
        _, _, text = str(exc).partition(": ")
        try:
            info = json.loads(text)
            offset = int(info["position"])  # in bytes
            message = str(info["exception_message"])
        except (ValueError, KeyError):
            return None
    except duckdb.Error:
        return None
    position = len(sql.encode("utf-8")[:offset].decode("utf-8", "ignore")) + 1
    return message, position


def table_name(table: exp.Table) -> str | None:
    """The namespace a table reference may name: unqualified (or main.) and well formed."""
    if table.args.get("catalog") or (table.db and table.db.lower() != "main"):
        return None
    ident = table.this
    if not isinstance(ident, exp.Identifier):
        return None
    name = ident.name if ident.quoted else ident.name.lower()
    return name if is_name(name) else None


def referenced_tables(tree: exp.Expression) -> set[str]:
    """Names of the tables a statement reads or writes, without its CTE names."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    names = set()
    for table in tree.find_all(exp.Table):
        name = table_name(table)
        if name and name not in ctes:
            names.add(name)
    return names
