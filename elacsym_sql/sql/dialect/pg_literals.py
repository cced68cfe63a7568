"""Literals in statements that DuckDB would read otherwise, rewritten as Postgres reads
them: array literals, bytea, intervals (pg_text.py), regclass/regproc, bare NUMERIC.

Postgres types a string from its context; here the contexts that need it convert it: a
namespace column of a list, bytea or interval type in INSERT VALUES or UPDATE SET
(`typed_literal`, sql/statements/dml.py), and an explicit cast anywhere (`rewrite_literal_casts`:
`'{1,2}'::INT[]`, `CAST('{a}' AS TEXT[])`, `'\\x00ff'::bytea`). `'docs'::regclass` and
`'f'::regproc::oid` are the OIDs of the relation and function so named (an error if there
is none), as Postgres reads them; a bare `'pg_catalog.f'::regproc` is the name `f`, which
the catalog's regproc columns (typinput, ...) hold; other regclass casts stay text.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ..parse import DIALECT
from ..pg_catalog.pg_types import UNCONSTRAINED_NUMERIC
from ..search.pgvector_sql import rewrite_pgvector
from .duckdb_keywords import quote_duckdb_keywords
from .float_literals import COLUMN_FLOATS, check_float_text
from .pg_rewrite import SHIM
from .pg_text import bytea, duck_list_sql, interval_input, looks_like_array
from .reg_casts import regtype_edits, shown_as_name

OBJECT_NAME = "__elacsym_object_name"  # object_name() as a DuckDB function (pg_catalog.py)


def _bytea_sql(text: str) -> str:
    return f"unhex('{bytea(text).hex()}')"


def typed_literal(expr: exp.Expression, column_type: str) -> exp.Expression:
    """`expr`, or what a string literal means as a value of `column_type` (schema.py) where
    DuckDB would read it otherwise: a '{...}' array as a list, bytea text as bytes; a
    number out of a float column's range is 22003 (DuckDB reads Infinity or 0)."""
    number = expr.this if isinstance(expr, exp.Neg) else expr
    if isinstance(number, exp.Literal) and column_type in COLUMN_FLOATS:
        check_float_text(number.this, COLUMN_FLOATS[column_type])
    if not (isinstance(expr, exp.Literal) and expr.is_string):
        return expr
    if column_type.endswith("]") and looks_like_array(expr.this):
        return sqlglot.parse_one(duck_list_sql(expr.this), read=DIALECT)
    if column_type == "BLOB":
        return sqlglot.parse_one(_bytea_sql(expr.this), read=DIALECT)
    if column_type == "INTERVAL":
        return exp.Literal.string(interval_input(expr.this))
    return expr


def rewrite_literal_casts(sql: str) -> str:
    """String literals cast to an array type (`::T[]`, `CAST(... AS T[])`) as DuckDB
    lists, and to bytea as bytes; a literal or a parameter cast to regclass as the OID of
    the relation it names; every other literal untouched."""
    lowered = sql.lower()
    casts = ("bytea", "regclass", "regproc", "interval")
    if (
        "'{" not in sql
        and "regclass" not in lowered
        and "regtype" not in lowered
        and "regnamespace" not in lowered
        and not any(f"::{t}" in lowered for t in casts)
    ):
        return sql
    try:
        tokens = sqlglot.tokenize(sql, read=DIALECT)
    except TokenError:
        return sql
    edits = regtype_edits(sql, tokens)
    for i, tok in enumerate(tokens):
        param = _parameter_to_regclass(tokens, i)
        if param is not None:  # CAST($1 AS regclass): the OID of the relation it names
            start, end, value = param
            edits.append((start, end, f"{SHIM}.regclass_oid({OBJECT_NAME}({value}))"))
            continue
        if _column_to_regclass(tokens, i):  # conrelid::regclass: the relation's name
            start = tokens[i - 2].start if _is_dot(tokens, i - 1) else tok.start
            edits.append((start, tokens[i + 2].end + 1,
                          f"{SHIM}.regclass_name({sql[start : tok.end + 1]})"))  # fmt: skip
            continue
        if tok.token_type != TokenType.STRING:
            continue
        target = _cast_target(tokens, i)
        if target == "array" and looks_like_array(tok.text):
            edits.append((tok.start, tok.end + 1, duck_list_sql(tok.text)))
        elif target == "bytea":
            edits.append((tok.start, tok.end + 1, _bytea_sql(tok.text)))
        elif target == "interval":
            edits.append((tok.start, tok.end + 1, _quoted(interval_input(tok.text))))
        elif target in ("regclass", "regproc"):  # the literal and its cast
            start, after = tok.start, i + 3  # 'x'::regclass
            if tokens[i + 1].token_type == TokenType.ALIAS:  # CAST('x' AS regclass)
                if i + 3 >= len(tokens) or tokens[i + 3].token_type != TokenType.R_PAREN:
                    continue
                start, after = tokens[i - 2].start, i + 4
            end = tokens[after - 1].end + 1
            name = _quoted(object_name(tok.text))
            if _sequence_argument(tokens, i):  # nextval('s'::regclass): the name
                edits.append((start, end, _quoted(tok.text)))
            elif target == "regproc" and not _oid_follows(tokens, after):
                edits.append((start, end, name))  # compared with catalog regproc names
            elif target == "regclass" and shown_as_name(tokens, i, after - 1):
                edits.append((start, end, f"{SHIM}.regclass_name({SHIM}.regclass_oid({name}))"))
            else:
                edits.append((start, end, f"{SHIM}.{target}_oid({name})"))
    out, last = [], 0
    for start, end, repl in sorted(edits):
        out += [sql[last:start], repl]
        last = end
    return "".join(out) + sql[last:]


def _cast_target(tokens: list[Token], i: int) -> str | None:
    """What the string at `i` is cast to: "array" (`'{}'::T[]`, `CAST('{}' AS T[])`),
    "bytea", or None (no cast, or to another type)."""
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if nxt is None or nxt.token_type not in (TokenType.DCOLON, TokenType.ALIAS):
        return None
    if nxt.token_type == TokenType.ALIAS:
        before = tokens[i - 2] if i >= 2 else None
        if before is None or before.text.upper() not in ("CAST", "TRY_CAST"):
            return None
    first = tokens[i + 2] if i + 2 < len(tokens) else None
    if first is not None and first.text.lower() in ("regclass", "regproc"):
        return first.text.lower()
    if first is not None and first.text.lower() == "interval":
        after = tokens[i + 3] if i + 3 < len(tokens) else None
        return None if after is not None and after.token_type == TokenType.L_BRACKET else "interval"
    if first is not None and first.text.lower() == "bytea":
        after = tokens[i + 3] if i + 3 < len(tokens) else None
        return "array" if after is not None and after.token_type == TokenType.L_BRACKET else "bytea"
    return "array" if _array_type_follows(tokens, i + 2) else None


def _is_dot(tokens: list[Token], i: int) -> bool:
    return i >= 1 and tokens[i].token_type == TokenType.DOT


def _column_to_regclass(tokens: list[Token], i: int) -> bool:
    """Whether a column (`c.conrelid`) at `i` is cast `::regclass`, as psql shows names."""
    return (
        tokens[i].token_type == TokenType.VAR
        and i + 2 < len(tokens)
        and tokens[i + 1].token_type == TokenType.DCOLON
        and tokens[i + 2].text.lower() == "regclass"
        and not (i + 3 < len(tokens) and tokens[i + 3].token_type == TokenType.DCOLON)
    )


def _parameter_to_regclass(tokens: list[Token], i: int) -> tuple[int, int, str] | None:
    """(start, end, the parameter's text) of a parameter cast to regclass at `i`:
    `$1::regclass`, `CAST($1 AS regclass)` (SQLAlchemy's comment reflection), or `?`."""
    tok = tokens[i]
    if tok.token_type == TokenType.PLACEHOLDER and tok.text == "?":
        last = i
    elif (tok.token_type == TokenType.PARAMETER and i + 1 < len(tokens)
          and tokens[i + 1].token_type == TokenType.NUMBER):  # fmt: skip
        last = i + 1
    else:
        return None
    value = "$" + tokens[last].text if last > i else "?"
    after = tokens[last + 1 : last + 4]
    words = [t.text.lower() for t in after]
    if words[:2] == ["::", "regclass"] and not (len(after) > 2 and words[2] == "::"):
        return tok.start, after[1].end + 1, value
    cast = i >= 2 and tokens[i - 2].text.upper() == "CAST" and tokens[i - 1].text == "("
    if cast and len(after) == 3 and words[1:] == ["regclass", ")"] and words[0] == "as":
        return tokens[i - 2].start, after[2].end + 1, value
    return None


def _sequence_argument(tokens: list[Token], i: int) -> bool:
    """Whether the literal at `i` is the first argument of nextval, currval or setval,
    which take the sequence's name (sql/sequences.py)."""
    return (
        i >= 2
        and tokens[i - 1].token_type == TokenType.L_PAREN
        and tokens[i - 2].text.lower() in ("nextval", "currval", "setval")
    )


def _oid_follows(tokens: list[Token], i: int) -> bool:
    """Whether `::oid` (written `::UINTEGER` by pg_rewrite.py) is at `i`."""
    return (
        i + 1 < len(tokens)
        and tokens[i].token_type == TokenType.DCOLON
        and tokens[i + 1].text.lower() in ("oid", "uinteger")
    )


def object_name(text: str) -> str:
    """The name a regclass/regproc literal denotes: schema `public`/`pg_catalog` dropped,
    a quoted name as written, an unquoted one lower-cased ('public."Docs"' -> 'Docs')."""
    parts = re.findall(r'"((?:[^"]|"")*)"|([^."]+)', text.strip())
    names = [q.replace('""', '"') if q else w.strip().lower() for q, w in parts]
    if len(names) > 1 and names[0] in ("public", "pg_catalog"):
        names = names[1:]
    return ".".join(names)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _array_type_follows(tokens: list[Token], start: int) -> bool:
    # The type: a few words (`double precision`, `timestamp with time zone`), maybe a
    # parenthesised modifier, then `[`.
    depth = 0
    for tok in tokens[start : start + 10]:
        kind = tok.token_type
        if kind == TokenType.L_BRACKET and depth == 0:
            return True
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN and depth > 0:
            depth -= 1
        elif depth == 0 and not tok.text.replace("_", "").replace(" ", "").isalnum():
            return False
    return False


def with_typed_literals(values: exp.Expression, types: list[str | None]) -> exp.Expression:
    """INSERT's VALUES with each string literal read as the type of its column (by
    position; None: not a namespace column), as `typed_literal` does."""
    if not isinstance(values, exp.Values):
        return values
    values = values.copy()
    for row in values.expressions:
        for item, type_ in zip(list(row.expressions), types, strict=False):
            if type_ is not None:
                new = typed_literal(item, type_)
                if new is not item:
                    item.replace(new)
    return values


# A bare NUMERIC in a cast: DuckDB's default is DECIMAL(18,3), which rounds to 3 decimals;
# it means a namespace's bare NUMERIC here (ddl.py, decision 0030). Literals, quoted names
# and comments are skipped.
_BARE_NUMERIC = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/"""
    r"|(?P<cast>::\s*(?:pg_catalog\.)?(?:numeric|decimal)\b(?!\s*\())"
    r"|(?P<as>\bAS\s+(?:pg_catalog\.)?(?:numeric|decimal)\s*(?=\)))",
    re.DOTALL | re.IGNORECASE,
)


def rewrite_bare_numeric(sql: str) -> str:
    """`x::numeric` and `CAST(x AS numeric)` as DECIMAL(38,12) rather than DuckDB's (18,3)."""
    lowered = sql.lower()
    if "numeric" not in lowered and "decimal" not in lowered:
        return sql

    def replace(m: re.Match[str]) -> str:
        if m.group("cast"):
            return f"::{UNCONSTRAINED_NUMERIC}"
        if m.group("as"):
            return f"AS {UNCONSTRAINED_NUMERIC}"
        return m.group()

    return _BARE_NUMERIC.sub(replace, sql)


def duckdb_text(sql: str) -> str:
    """A client's statement text as DuckDB must read it: DuckDB-only keywords that are
    names quoted, pgvector's syntax, bare NUMERIC."""
    return rewrite_bare_numeric(rewrite_pgvector(quote_duckdb_keywords(sql)))
