"""Rows given as Python mappings (column -> value, e.g. decoded JSON) turned into an Arrow
table of a namespace's columns, each value's kind checked against its column's type.

A mistake names the row (by its key) and the column; nothing is written (the caller
validates the whole batch before appending). Vector dimensions, NaN, NOT NULL and
duplicate keys are checked afterwards by validate.conform_rows, once for every writer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from ..errors import DatatypeMismatch, InvalidTextRepresentation, UndefinedColumn
from ..schema import Column, Schema

_INTEGERS = ("BIGINT", "INTEGER", "SMALLINT")
_FLOATS = ("DOUBLE", "FLOAT")


def kind_of(col: Column) -> str:
    """The JSON kind a column takes, in the original service's words."""
    if col.is_vector:
        return "a list of numbers"
    if col.is_list:
        return f"a list of {_scalar_kind(col.base)}s"
    return _scalar_kind(col.base)


def _scalar_kind(base: str) -> str:
    if base == "BOOLEAN":
        return "boolean"
    if base in _INTEGERS:
        return "integer"
    if base in _FLOATS or base.startswith("DECIMAL"):
        return "number"
    return "string"


def _fits(value: Any, base: str) -> bool:
    kind = _scalar_kind(base)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    # Other types (dates, UUIDs, ...) come as text, or as Python objects from embedded users.
    plain = isinstance(value, bool | int | float | list | dict)
    return isinstance(value, str) or (base != "VARCHAR" and not plain)


def rows_table(rows: Sequence[Mapping[str, Any]], schema: Schema) -> pa.Table:
    """The rows as a table of the schema's visible columns (a missing column is NULL)."""
    columns = {c.name: c for c in schema.visible}
    key = schema.primary_key
    for i, row in enumerate(rows):
        unknown = [name for name in row if name not in columns]
        if unknown:
            raise UndefinedColumn(
                f'{_which(row, key, i)}: attribute "{unknown[0]}" of namespace '
                f'"{schema.name}" does not exist'
            )
    arrays, names = [], []
    for col in columns.values():
        values = [row.get(col.name) for row in rows]
        arrays.append(_column(values, col, rows, key))
        names.append(col.name)
    return pa.Table.from_arrays(arrays, names=names)


def _which(row: Mapping[str, Any], key: str, at: int) -> str:
    value = row.get(key)
    return f"document {value!r}" if value is not None else f"document #{at}"


def _column(
    values: list[Any], col: Column, rows: Sequence[Mapping[str, Any]], key: str
) -> pa.Array:
    if col.is_vector:
        try:  # variable-length lists: validate.conform_rows names a wrong dimension
            return pa.array(values, pa.list_(pa.float64()))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            pass
        for i, v in enumerate(values):  # find the culprit for the message
            if v is not None and (
                not isinstance(v, list | tuple)
                or any(isinstance(x, bool) or not isinstance(x, int | float) for x in v)
            ):
                _mismatch(rows, i, key, col)
        raise DatatypeMismatch(f'column "{col.name}": vectors must be lists of numbers')
    for i, v in enumerate(values):
        if v is None:
            continue
        items = v if col.is_list and isinstance(v, list | tuple) else None
        if col.is_list and items is None:
            _mismatch(rows, i, key, col)
        if not all(x is None or _fits(x, col.base) for x in (items if items is not None else [v])):
            _mismatch(rows, i, key, col)
    try:
        if col.base in ("VARCHAR", "BOOLEAN", *_INTEGERS, *_FLOATS):
            return pa.array(values, col.arrow_type)
        return pa.array(values).cast(col.arrow_type)  # dates, timestamps, ... from text
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        raise InvalidTextRepresentation(
            f'column "{col.name}": a value does not fit {col.type}'
        ) from None


def _mismatch(rows: Sequence[Mapping[str, Any]], at: int, key: str, col: Column) -> None:
    got = type(rows[at].get(col.name)).__name__
    raise DatatypeMismatch(
        f'{_which(rows[at], key, at)}: attribute "{col.name}" must be {kind_of(col)} '
        f"({col.type}), not {_json_kind(got)}"
    )


def _json_kind(python_type: str) -> str:
    return {
        "str": "a string",
        "int": "an integer",
        "float": "a number",
        "bool": "a boolean",
        "list": "a list",
        "dict": "an object",
    }.get(python_type, python_type)
