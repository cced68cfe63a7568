"""Filters the engine evaluates itself, without DuckDB: the original service's JSON filter
language, checked against a namespace's schema and evaluated with pyarrow.compute over the
rows a snapshot shows (decision 0039).

    {"type": "and" | "or", "conditions": [condition or group, ...]}
    {"field": "year", "op": "gte", "value": 2020}

Ops: eq ne gt gte lt lte (numbers compare numerically, text by code point, other scalar
types after casting the value to the column's type), contains (an array holds the value;
text contains it as a substring), containsany / contains_any (an array holds one of the
values). A row whose field is NULL matches only `ne` (as the original did for a missing
attribute) and `eq null`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DatatypeMismatch, InvalidTextRepresentation, UndefinedColumn
from ..schema import Column, Schema, storage_type
from .namespace import Snapshot
from .segments import SegmentFiles, as_array

COMPARISONS = {"eq", "ne", "gt", "gte", "lt", "lte"}
OPS = (*sorted(COMPARISONS), "contains", "containsany", "contains_any")
GROUPS = ("and", "or")
_NUMERIC = ("BIGINT", "INTEGER", "SMALLINT", "DOUBLE", "FLOAT")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # one of OPS, contains_any spelled containsany
    value: Any


@dataclass(frozen=True)
class Group:
    kind: str  # "and" or "or"
    items: tuple[Condition | Group, ...]


Filter = Condition | Group


@dataclass(frozen=True)
class KeyFilter:
    """A filter evaluated outside the engine (SQL's, by DuckDB over the namespace's view):
    `keys` computes the keys of the rows it admits when a search needs them; a search may
    cache what it derives from them for a snapshot under `cache_id` (None: never, as for a
    filter reading the clock)."""

    keys: Callable[[], pa.Array]
    cache_id: Hashable | None = None


def parse_filter(raw: object, path: str = "filter") -> Filter:
    """A filter from its JSON form; DatatypeMismatch names the part that has the wrong shape."""
    if not isinstance(raw, dict):
        raise DatatypeMismatch(f"{path} must be an object")
    if "conditions" in raw or "type" in raw:
        kind = raw.get("type", "and")
        if kind not in GROUPS:
            raise DatatypeMismatch(f'{path}.type must be "and" or "or", not {_show(kind)}')
        items = raw.get("conditions")
        if not isinstance(items, list):
            raise DatatypeMismatch(f"{path}.conditions must be a list")
        extra = set(raw) - {"type", "conditions"}
        if extra:
            raise DatatypeMismatch(f"{path} has unknown key(s) {', '.join(sorted(extra))}")
        return Group(
            kind, tuple(parse_filter(c, f"{path}.conditions[{i}]") for i, c in enumerate(items))
        )
    extra = set(raw) - {"field", "op", "value"}
    if extra:
        raise DatatypeMismatch(f"{path} has unknown key(s) {', '.join(sorted(extra))}")
    field, op = raw.get("field"), raw.get("op")
    if not isinstance(field, str):
        raise DatatypeMismatch(f"{path}.field must be a string")
    if op not in OPS:
        raise DatatypeMismatch(f"{path}.op must be one of {', '.join(OPS)}, not {_show(op)}")
    if "value" not in raw:
        raise DatatypeMismatch(f"{path}.value is missing")
    return Condition(field, "containsany" if op == "contains_any" else op, raw["value"])


def _show(value: object) -> str:
    return json.dumps(value) if isinstance(value, str | int | float | bool | None) else "that"


def check_filter(f: Filter, schema: Schema, path: str = "filter") -> Filter:
    """`f` with every value checked against (and converted to) its column's type."""
    if isinstance(f, Group):
        return Group(
            f.kind,
            tuple(
                check_filter(c, schema, f"{path}.conditions[{i}]") for i, c in enumerate(f.items)
            ),
        )
    try:
        col = schema.column(f.field)
    except KeyError:
        raise UndefinedColumn(
            f'{path}: attribute "{f.field}" of namespace "{schema.name}" does not exist'
        ) from None
    if col.hidden or col.is_vector:
        raise DatatypeMismatch(f'{path}: attribute "{f.field}" cannot be filtered on')
    return Condition(f.field, f.op, _checked_value(f, col, path))


def _checked_value(f: Condition, col: Column, path: str) -> Any:
    value, where = f.value, f'{path}.value (attribute "{col.name}", {col.type})'
    if f.op == "containsany":
        if not col.is_list or not isinstance(value, list):
            raise DatatypeMismatch(f"{where}: containsany needs an array attribute and a list")
        return [_scalar(v, col, where) for v in value]
    if f.op == "contains":
        if not (col.is_list or col.base == "VARCHAR"):
            raise DatatypeMismatch(f"{where}: contains needs an array or string attribute")
        return _scalar(value, col, where)
    if value is None:
        if f.op not in ("eq", "ne"):
            raise DatatypeMismatch(f"{where}: null compares only with eq and ne")
        return None
    if col.is_list:
        if f.op not in ("eq", "ne") or not isinstance(value, list):
            raise DatatypeMismatch(f"{where}: an array attribute compares with eq/ne to a list")
        return [_scalar(v, col, where) for v in value]
    return _scalar(value, col, where)


def _scalar(value: Any, col: Column, where: str) -> Any:
    """One value of the column's scalar type, as pyarrow compares it."""
    base = col.base
    if base == "BOOLEAN":
        if not isinstance(value, bool):
            raise DatatypeMismatch(f"{where} must be true or false")
        return value
    if base in _NUMERIC or base.startswith("DECIMAL"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DatatypeMismatch(f"{where} must be a number")
        return value
    if not isinstance(value, str):
        raise DatatypeMismatch(f"{where} must be a string")
    target = storage_type(base)
    if pa.types.is_string(target):
        return value
    try:
        return pa.scalar(value).cast(target).as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InvalidTextRepresentation(f"{where}: {value!r} is not a {base}") from None


def canonical(f: Filter) -> str:
    """Equal filters give equal text (the key results are cached under)."""

    def form(x: Filter) -> Any:
        if isinstance(x, Group):
            return [x.kind, [form(c) for c in x.items]]
        return [x.field, x.op, x.value]

    return json.dumps(form(f), sort_keys=True, default=str)


# -- evaluation ------------------------------------------------------------------------------


def filter_mask(f: Filter, rows: pa.Table) -> np.ndarray:
    """Which of `rows` (storage schema) the checked filter admits."""
    if isinstance(f, Group):
        masks = [filter_mask(c, rows) for c in f.items]
        if f.kind == "and":
            return np.logical_and.reduce(masks) if masks else np.ones(rows.num_rows, bool)
        return np.logical_or.reduce(masks) if masks else np.zeros(rows.num_rows, bool)
    column = as_array(rows.column(f.field))
    return _condition_mask(f, column)


def _condition_mask(f: Condition, column: pa.Array) -> np.ndarray:
    n = len(column)
    if f.op in ("contains", "containsany") and pa.types.is_list(column.type):
        flat = pc.list_flatten(column)
        parents = pc.list_parent_indices(column).to_numpy(zero_copy_only=False)
        values = f.value if f.op == "containsany" else [f.value]
        hit = pc.is_in(flat, value_set=pa.array(values, flat.type)).fill_null(False)
        mask = np.zeros(n, bool)
        mask[parents[hit.to_numpy(zero_copy_only=False)]] = True
        return mask
    if f.op == "contains":
        found = pc.match_substring(column, f.value)
        return found.fill_null(False).to_numpy(zero_copy_only=False)
    if f.value is None:
        nulls = column.is_null().to_numpy(zero_copy_only=False)
        return nulls if f.op == "eq" else ~nulls
    if pa.types.is_list(column.type):  # whole-array equality: rare, done in Python
        same = np.array([v == f.value for v in column.to_pylist()], bool)
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        return same & valid if f.op == "eq" else ~same | ~valid
    column, value = _comparable(column, f.value)
    compare = {
        "eq": pc.equal,
        "ne": pc.not_equal,
        "gt": pc.greater,
        "gte": pc.greater_equal,
        "lt": pc.less,
        "lte": pc.less_equal,
    }[f.op]
    result = compare(column, value).fill_null(f.op == "ne")
    return result.to_numpy(zero_copy_only=False)


def _comparable(column: pa.Array, value: Any) -> tuple[pa.Array, pa.Scalar]:
    """The column and value in one type: integers stay exact, any float makes both doubles."""
    t = column.type
    if pa.types.is_integer(t) and isinstance(value, int):
        return column.cast(pa.int64()), pa.scalar(value, pa.int64())
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return column.cast(pa.float64()), pa.scalar(float(value), pa.float64())
    return column, pa.scalar(value, t)


def live_parts(snap: Snapshot, files: SegmentFiles) -> Iterator[tuple[pa.Table, np.ndarray]]:
    """Each segment's rows with which of them are live (not deleted, not superseded by the
    tail), then the tail's rows (all live)."""
    hidden = snap.tail.keys
    key = snap.schema.primary_key
    for seg in snap.manifest.segments:
        rows = files.rows(snap.name, seg, snap.schema)
        live = np.ones(rows.num_rows, bool)
        live[files.deletes(snap.name, seg)] = False
        if len(hidden):
            keys = as_array(rows.column(key))
            live &= ~pc.is_in(keys, value_set=hidden).to_numpy(zero_copy_only=False)
        yield rows, live
    tail = snap.tail.rows.combine_chunks()
    yield tail, np.ones(tail.num_rows, bool)


def filter_keys(snap: Snapshot, files: SegmentFiles, f: Filter) -> pa.Array:
    """Keys of the live rows the checked filter admits, cached for this snapshot."""

    def build() -> pa.Array:
        key = snap.schema.primary_key
        parts = [
            as_array(rows.column(key)).filter(pa.array(live & filter_mask(f, rows)))
            for rows, live in live_parts(snap, files)
        ]
        return pa.concat_arrays(parts)

    return files.memory.get(("filter-keys", snap.name, snap.token, canonical(f)), build)
