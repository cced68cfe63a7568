"""Postgres literal text DuckDB reads otherwise: array literals, bytea, regclass/regproc.

DuckDB writes lists `[...]` and cannot cast '{1,"a b",NULL}' text to one; it reads
'\\x00ff' as a BLOB of escapes, not hex. Postgres types such a string from its context;
here the contexts that need it convert it: wire parameters (server/params.py), a namespace
column of a list or bytea type in INSERT VALUES or UPDATE SET (`typed_literal`,
sql/dml.py), and an explicit cast anywhere (`rewrite_literal_casts`: `'{1,2}'::INT[]`,
`CAST('{a}' AS TEXT[])`, `'\\x00ff'::bytea`). `'docs'::regclass` and `'f'::regproc::oid`
are the OIDs of the relation and function so named (an error if there is none), as
Postgres reads them; a bare `'pg_catalog.f'::regproc` is the name `f`, which the catalog's
regproc columns (typinput, ...) hold; other regclass casts stay text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ..errors import InvalidTextRepresentation, ProgramLimitExceeded, shown
from . import pg_types as t
from .parse import DIALECT
from .pg_rewrite import SHIM
from .pg_types import UNCONSTRAINED_NUMERIC

MAX_DIMENSIONS = 6  # Postgres's MAXDIM

# Element types whose text never needs quotes: a flat array of them splits on commas.
_PLAIN_NUMBERS = {t.INT2: int, t.INT4: int, t.INT8: int, t.OID: int, t.FLOAT4: float,
                  t.FLOAT8: float}  # fmt: skip


def text_array(text: str, element: int, decode: Callable[[str, int], Any]) -> list[Any]:
    """A Postgres array literal ('{1,2,"a b",NULL}', nested braces) to nested lists, each
    item read by `decode(item text, element)`."""
    number = _PLAIN_NUMBERS.get(element)
    plain = text[:1] == "{" and text[-1:] == "}" and "{" not in text[1:] and '"' not in text
    if number is not None and plain:
        # A vector: thousands of numbers, read without the general parser's per-character
        # loop (node `pg` quotes each number: those take the loop). float() reads
        # Postgres's Infinity and NaN too.
        body = text[1:-1]
        if not body.strip():
            return []
        items = body.split(",")
        if "N" in body or "n" in body:  # NULL, NaN
            return [None if i.strip().upper() == "NULL" else number(i) for i in items]
        return [number(i) for i in items]
    pos = text.find("{")  # skips a '[1:3]=' bounds prefix
    if pos < 0:
        raise InvalidTextRepresentation(f"malformed array literal: {shown(text)}")
    value, end = _array_at(text, pos, element, decode, 1)
    if text[end:].strip():
        raise InvalidTextRepresentation(f"malformed array literal: {shown(text)}")
    return value


def _array_at(
    text: str, pos: int, element: int, decode: Callable[[str, int], Any], depth: int
) -> tuple[list[Any], int]:
    if depth > MAX_DIMENSIONS:
        raise ProgramLimitExceeded(
            f"number of array dimensions ({depth}) exceeds the maximum allowed ({MAX_DIMENSIONS})"
        )
    out: list[Any] = []
    pos += 1  # past '{'
    while pos < len(text):
        ch = text[pos]
        if ch == "}":
            return out, pos + 1
        if ch in ", \t\n":
            pos += 1
        elif ch == "{":
            inner, pos = _array_at(text, pos, element, decode, depth + 1)
            out.append(inner)
        elif ch == '"':
            chars, pos = [], pos + 1
            while pos < len(text) and text[pos] != '"':
                if text[pos] == "\\":
                    pos += 1
                chars.append(text[pos : pos + 1])
                pos += 1
            out.append(decode("".join(chars), element))
            pos += 1
        else:
            end = pos
            while end < len(text) and text[end] not in ",}":
                end += 1
            item = text[pos:end].strip()
            out.append(None if item.upper() == "NULL" else decode(item, element))
            pos = end
    raise InvalidTextRepresentation(f"malformed array literal: {shown(text)}")


# -- as DuckDB lists -----------------------------------------------------------------------


def _keep(item: str, _element: int) -> str:
    return item


def looks_like_array(text: str) -> bool:
    return text.lstrip()[:1] == "{" and text.rstrip()[-1:] == "}"


def duck_list_sql(text: str) -> str:
    """A Postgres array literal as a DuckDB list of text items (`['a b', NULL]`), which
    DuckDB casts item by item to the list type its context wants."""
    return _list_sql(text_array(text, t.TEXT, _keep))


def _list_sql(items: list[Any]) -> str:
    parts = []
    for item in items:
        if item is None:
            parts.append("NULL")
        elif isinstance(item, list):
            parts.append(_list_sql(item))
        else:
            parts.append("'" + item.replace("'", "''") + "'")
    return "[" + ", ".join(parts) + "]"


def bytea(text: str) -> bytes:
    """Postgres's bytea input: hex ('\\x00ff') or escape format ('a\\000\\\\')."""
    if text.startswith("\\x"):
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            raise InvalidTextRepresentation(f"invalid hexadecimal data: {shown(text)}") from None
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] != "\\":
            out += text[i].encode()
            i += 1
        elif text[i + 1 : i + 2] == "\\":
            out.append(0x5C)
            i += 2
        elif len(text) >= i + 4 and all(c in "01234567" for c in text[i + 1 : i + 4]):
            out.append(int(text[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            raise InvalidTextRepresentation("invalid input syntax for type bytea")
    return bytes(out)


_ISO_INTERVAL = re.compile(
    r"P(?:(?P<Y>[-\d.]+)Y)?(?:(?P<M>[-\d.]+)M)?(?:(?P<W>[-\d.]+)W)?(?:(?P<D>[-\d.]+)D)?"
    r"(?:T(?:(?P<h>[-\d.]+)H)?(?:(?P<m>[-\d.]+)M)?(?:(?P<s>[-\d.]+)S)?)?",
    re.IGNORECASE,
)
_ISO_UNITS = {"Y": "years", "M": "months", "W": "weeks", "D": "days", "h": "hours",
              "m": "minutes", "s": "seconds"}  # fmt: skip


def interval_input(text: str) -> str:
    """Postgres's interval text as DuckDB reads it: Postgres writes a '+' before a positive
    field that follows a negative one ('-3 days +04:05:06'), and reads ISO 8601
    ('P1Y2M3DT4H'); DuckDB reads neither."""
    iso = _ISO_INTERVAL.fullmatch(text.strip())
    if iso and any(iso.groupdict().values()):
        return " ".join(f"{v} {_ISO_UNITS[k]}" for k, v in iso.groupdict().items() if v)
    return re.sub(r"(?<![\w.])\+(?=\d)", "", text)


def _bytea_sql(text: str) -> str:
    return f"unhex('{bytea(text).hex()}')"


def typed_literal(expr: exp.Expression, column_type: str) -> exp.Expression:
    """`expr`, or what a string literal means as a value of `column_type` (schema.py) where
    DuckDB would read it otherwise: a '{...}' array as a list, bytea text as bytes."""
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
    lists, and to bytea as bytes; every other literal untouched."""
    lowered = sql.lower()
    casts = ("bytea", "regclass", "regproc", "interval")
    if "'{" not in sql and not any(f"::{t}" in lowered for t in casts):
        return sql
    try:
        tokens = sqlglot.tokenize(sql, read=DIALECT)
    except TokenError:
        return sql
    edits: list[tuple[int, int, str]] = []
    for i, tok in enumerate(tokens):
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
            if target == "regproc" and not _oid_follows(tokens, after):
                edits.append((start, end, name))  # compared with catalog regproc names
            else:
                edits.append((start, end, f"{SHIM}.{target}_oid({name})"))
    out, last = [], 0
    for start, end, repl in edits:
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
