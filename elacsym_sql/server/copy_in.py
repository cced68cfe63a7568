"""COPY FROM STDIN data (text, CSV or binary) to an Arrow table for the sql layer.

Text and CSV fields stay text, and DuckDB casts them to the namespace's column types in
the INSERT path exactly as it casts a string literal; only what DuckDB reads differently
from Postgres is converted here: array literals ('{1,2}'), bytea ('\\x00ff') and intervals
('-3 days +04:05'). Binary fields are decoded by their column's type, as Bind parameters
are (params.py).
"""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import BadCopyFormat, ElacsymError
from ..sql.dialect.pg_text import interval_input
from ..sql.pg_catalog import pg_types as t
from . import params
from .copy_statement import CopyOptions
from .frontend import utf8

BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_UNESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))", re.DOTALL)
_NUMERIC_ELEMENTS = {t.INT2, t.INT4, t.INT8, t.FLOAT4, t.FLOAT8, t.NUMERIC, t.BOOL}


def decode_copy(data: bytes, options: CopyOptions, columns: Sequence[tuple[str, str]]) -> pa.Table:
    """The rows of a COPY FROM stream, one Arrow column per (name, DuckDB type)."""
    oids = [t.pg_type_of(duck_type)[0] for _, duck_type in columns]
    if options.format == "binary":
        values = _binary_rows(data, oids)
        arrays = [_values_array(col, oid) for col, oid in zip(values, oids, strict=True)]
    else:
        text = utf8(data)
        rows = _csv_rows(text, options) if options.format == "csv" else _text_rows(text, options)
        if options.header and rows:
            rows = rows[1:]
        for n, row in enumerate(rows, 1 + options.header):
            if len(row) != len(columns):
                what = (
                    "extra data after last expected column"
                    if len(row) > len(columns)
                    else (f'missing data for column "{columns[len(row)][0]}"')
                )
                raise BadCopyFormat(what, detail=f"COPY, line {n}")
        arrays = [_text_array([row[i] for row in rows], oids[i]) for i in range(len(columns))]
    return pa.table({name: arr for (name, _), arr in zip(columns, arrays, strict=True)})


# -- text format -----------------------------------------------------------------------


def _text_rows(text: str, options: CopyOptions) -> list[list[str | None]]:
    delim, null = options.delimiter, options.null
    splitter = re.compile(r"\\.|" + re.escape(delim), re.DOTALL)
    rows: list[list[str | None]] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines:
        if line.endswith("\r"):
            line = line[:-1]
        if line == "\\.":
            break
        if "\\" not in line:
            rows.append([None if f == null else f for f in line.split(delim)])
            continue
        raw, start = [], 0
        for m in splitter.finditer(line):
            if m.group() == delim:
                raw.append(line[start : m.start()])
                start = m.end()
        raw.append(line[start:])
        rows.append([None if f == null else _unescape(f) for f in raw])
    return rows


def _unescape(field: str) -> str:
    if "\\" not in field:
        return field
    return _UNESCAPE.sub(_escape_value, field)


def _escape_value(m: re.Match[str]) -> str:
    octal, hexa, char = m.groups()
    if octal is not None:
        return chr(int(octal, 8))
    if hexa is not None:
        return chr(int(hexa, 16))
    return _ESCAPES.get(char, char)


# -- CSV -------------------------------------------------------------------------------


def _csv_rows(text: str, options: CopyOptions) -> list[list[str | None]]:
    """Postgres CSV: quoted fields may hold delimiters, quotes (escaped) and newlines; an
    unquoted field equal to the NULL string is NULL, a quoted one never is."""
    d, q, e = (re.escape(c) for c in (options.delimiter, options.quote, options.escape))
    plain = re.compile(f"[^{d}{q}\r\n]*")
    if options.escape == options.quote:
        quoted = re.compile(f"{q}((?:[^{q}]|{q}{q})*){q}")
        unquote = re.compile(f"{q}{q}")
    else:
        quoted = re.compile(f"{q}((?:{e}[{q}{e}]|[^{q}])*){q}")
        unquote = re.compile(f"{e}([{q}{e}])")
    rows: list[list[str | None]] = []
    pos, n = 0, len(text)
    while pos < n:
        if text.startswith("\\.", pos) and text[pos + 2 : pos + 3] in ("", "\n", "\r"):
            break
        row: list[str | None] = []
        while True:
            parts, was_quoted = [], False
            while True:
                m = plain.match(text, pos)
                assert m is not None
                parts.append(m.group())
                pos = m.end()
                if pos < n and text[pos] == options.quote:
                    m = quoted.match(text, pos)
                    if m is None:
                        raise BadCopyFormat("unterminated CSV quoted field")
                    parts.append(unquote.sub(lambda x: x.group()[-1], m.group(1)))
                    was_quoted, pos = True, m.end()
                    continue
                break
            value = "".join(parts)
            row.append(None if not was_quoted and value == options.null else value)
            if pos < n and text[pos] == options.delimiter:
                pos += 1
                continue
            break
        if text.startswith("\r\n", pos):
            pos += 2
        elif pos < n:
            pos += 1  # '\n' or '\r'
        rows.append(row)
    return rows


# -- text values to what DuckDB reads --------------------------------------------------


def _text_array(values: list[str | None], oid: int) -> pa.Array:
    strings = pa.array(values, pa.string())
    pg = t.BY_OID.get(oid)
    if oid == t.INTERVAL:  # Postgres's output form, which DuckDB reads once normalised
        return pa.array([None if v is None else interval_input(v) for v in values], pa.string())
    if oid == t.BYTEA:
        return pa.array([None if v is None else _bytea(v) for v in values], pa.binary())
    if pg is None or not pg.element:
        return strings
    if pg.element in _NUMERIC_ELEMENTS and not pc.any(pc.match_substring(strings, '"')).as_py():
        # '{1,2.5,NULL}' -> '[1,2.5,NULL]': DuckDB reads its own list literal, vectorised.
        return pc.replace_substring_regex(strings, r"^\s*\{(.*)\}\s*$", r"[\1]")
    parsed = [None if v is None else _array(v, pg.element) for v in values]
    return _values_array(parsed, oid)


def _bytea(text: str) -> bytes:
    try:
        return params.decode(text.encode("utf-8"), t.BYTEA, False)  # type: ignore[no-any-return]
    except ElacsymError as exc:  # a value that does not read as its type
        raise BadCopyFormat(exc.message) from None


def _array(text: str, element: int) -> Any:
    try:
        return params.decode(text.encode("utf-8"), t.BY_OID[element].array_oid, False)
    except ElacsymError as exc:  # a value that does not read as its type
        raise BadCopyFormat(exc.message) from None


# -- binary format ---------------------------------------------------------------------


def _binary_rows(data: bytes, oids: list[int]) -> list[list[Any]]:
    if not data.startswith(BINARY_SIGNATURE):
        raise BadCopyFormat("COPY file signature not recognized")
    try:
        _flags, ext = struct.unpack_from("!ii", data, len(BINARY_SIGNATURE))
        pos = len(BINARY_SIGNATURE) + 8 + ext
        columns: list[list[Any]] = [[] for _ in oids]
        while True:
            (count,) = struct.unpack_from("!h", data, pos)
            pos += 2
            if count == -1:
                return columns
            if count != len(oids):
                raise BadCopyFormat(f"row field count is {count}, expected {len(oids)}")
            for i, oid in enumerate(oids):
                (size,) = struct.unpack_from("!i", data, pos)
                pos += 4
                raw = None if size == -1 else data[pos : pos + size]
                pos += max(size, 0)
                columns[i].append(params.decode(raw, oid, True))
    except struct.error:
        raise BadCopyFormat("unexpected EOF in COPY data") from None
    except ElacsymError as exc:  # a value that does not read as its type
        raise BadCopyFormat(exc.message) from None


def _values_array(values: list[Any], oid: int) -> pa.Array:
    """Decoded values as Arrow; what Arrow cannot hold as is travels as text."""
    values = [str(v) if isinstance(v, uuid.UUID) else v for v in values]
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        from .values import text

        return pa.array([text(v, oid) for v in values], pa.string())
