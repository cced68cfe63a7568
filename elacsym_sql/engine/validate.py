"""Checks every row of a statement before anything is written, and casts it to storage types.

One bad row refuses the whole statement: nothing of it reaches the WAL.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidVector, NotNullViolation, StringDataRightTruncation, UniqueViolation
from ..jsonb import normal_forms
from ..schema import COMPOSITE_KEY, Column, Schema


def conform_rows(rows: pa.Table, schema: Schema) -> pa.Table:
    """Validate full rows for an upsert and return them in the storage schema. A composite
    key's hidden column is computed here; a hidden row id must be given."""
    rows = rows.combine_chunks()
    for col in schema.visible:
        if schema.is_required(col) and rows.column(col.name).null_count:
            at = pc.index(rows.column(col.name).is_null(), True).as_py()
            raise NotNullViolation(
                f'null value in column "{col.name}" of relation "{schema.name}" violates '
                "not-null constraint",
                detail=f"Failing row contains {failing_row(rows, at, schema)}.",
            )
    if schema.hidden_key == COMPOSITE_KEY:  # placeholder, computed from stored values below
        rows = _drop(rows, COMPOSITE_KEY).append_column(
            COMPOSITE_KEY, pa.nulls(rows.num_rows, pa.string())
        )
    key = rows.column(schema.primary_key)
    arrays = []
    for col in schema.columns:
        arr = rows.column(col.name)
        if col.is_vector:
            arrays.append(_conform_vector(arr, col, key))
        elif pa.types.is_interval(arr.type):
            arrays.append(interval_strings(arr.combine_chunks()))
        elif col.type == "JSONB":  # kept in Postgres's normal form, as jsonb is
            arrays.append(normal_forms(arr.combine_chunks().cast(pa.string())))
        elif col.char_kind is not None:
            arrays.append(_conform_chars(arr.combine_chunks().cast(pa.string()), col))
        else:
            arrays.append(arr.cast(col.arrow_type))
    out = pa.Table.from_arrays(arrays, schema=schema.arrow_schema)
    if schema.hidden_key == COMPOSITE_KEY:
        at = out.schema.get_field_index(COMPOSITE_KEY)
        out = out.set_column(at, COMPOSITE_KEY, composite_keys(out, schema.declared_key))
    _check_unique(out.column(schema.primary_key), out, schema)
    return out


def interval_strings(arr: pa.Array) -> pa.Array:
    """Intervals in their storage form, text DuckDB reads back exactly (Parquet has no
    month-day-microsecond type): '14 months 3 days 5000000 microseconds'."""
    parts = np.frombuffer(
        arr.buffers()[1],
        dtype=np.dtype([("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")]),
        count=len(arr),
        offset=arr.offset * 16,
    )
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    return pa.array(
        [
            f"{m} months {d} days {n // 1000} microseconds" if ok else None
            for (m, d, n), ok in zip(parts.tolist(), valid, strict=True)
        ],
        pa.string(),
    )


def conform_keys(keys: pa.Array | pa.ChunkedArray, schema: Schema) -> pa.Table:
    """Distinct keys for a delete record."""
    field = schema.arrow_schema.field(schema.primary_key)
    unique = pc.unique(keys.drop_null()).cast(field.type)
    return pa.table({schema.primary_key: unique})


def composite_keys(rows: pa.Table, columns: tuple[str, ...]) -> pa.Array:
    """The hidden key of each row: its key values as text, each after its length in bytes
    ("1:7,3:abc"), so different values never encode alike (key columns are NOT NULL)."""
    parts = []
    for name in columns:
        text = rows.column(name).cast(pa.string())
        parts.append(
            pc.binary_join_element_wise(pc.binary_length(text).cast(pa.string()), text, ":")
        )
    return pc.binary_join_element_wise(*parts, ",").combine_chunks()


def failing_row(rows: pa.Table, at: int, schema: Schema) -> str:
    """A row as Postgres shows it in a constraint error's detail: (1, abc, null)."""
    values = [
        rows.column(c.name)[at].as_py() for c in schema.visible if c.name in rows.column_names
    ]
    return "(" + ", ".join("null" if v is None else str(v) for v in values) + ")"


def _drop(rows: pa.Table, name: str) -> pa.Table:
    return rows.drop_columns([name]) if name in rows.column_names else rows


def _check_unique(key: pa.ChunkedArray, rows: pa.Table, schema: Schema) -> None:
    if len(pc.unique(key)) == len(key):
        return
    counts = pc.value_counts(key)
    dup = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"]
    at = pc.index(key, dup).as_py()
    names = schema.declared_key or (schema.primary_key,)
    values = ", ".join(str(rows.column(n)[at].as_py()) for n in names)
    raise UniqueViolation(
        f'duplicate key value violates unique constraint "{schema.pkey_name}"',
        detail=f"Key ({', '.join(names)})=({values}) appears more than once in one statement.",
    )


def _conform_chars(text: pa.Array, col: Column) -> pa.Array:
    """Values of a VARCHAR(n) or CHAR(n) column as Postgres stores them: at most n
    characters, where spaces past the n-th are cut and anything else there is 22001. CHAR's
    trailing spaces are not kept: Postgres disregards them (decision 0054)."""
    if col.char_kind == "bpchar":
        text = pc.utf8_rtrim(text, characters=" ")
    if col.length is None:
        return text
    long = pc.fill_null(pc.greater(pc.utf8_length(text), col.length), False)
    if not pc.any(long).as_py():
        return text
    past = pc.utf8_slice_codeunits(text, col.length)  # code points, despite the name
    if not pc.all(pc.or_kleene(pc.invert(long), pc.match_substring_regex(past, "^ *$"))).as_py():
        kind = "character" if col.char_kind == "bpchar" else "character varying"
        raise StringDataRightTruncation(f"value too long for type {kind}({col.length})")
    return pc.if_else(long, pc.utf8_slice_codeunits(text, 0, col.length), text)


def _conform_vector(arr: pa.ChunkedArray, col: Column, key: pa.ChunkedArray) -> pa.Array:
    dim = col.dim
    assert dim is not None
    arr = arr.combine_chunks()
    if pa.types.is_fixed_size_list(arr.type) and arr.type.list_size == dim:
        lengths = pc.if_else(arr.is_null(), 0, dim)
    else:
        lengths = pc.list_value_length(arr)
    valid = arr.is_valid()
    wrong = pc.and_(valid, pc.not_equal(lengths, dim))
    if pc.any(wrong).as_py():
        i = pc.index(wrong, True).as_py()
        raise InvalidVector(
            f'expected {dim} dimensions, not {lengths[i].as_py()}, for column "{col.name}"',
            detail=f"row with key {key[i].as_py()!r}",
        )
    flat = pc.list_flatten(arr)
    if flat.null_count:
        raise InvalidVector(f'vector column "{col.name}" has a NULL element')
    values = flat.cast(pa.float32()).to_numpy(zero_copy_only=False)
    if not np.isfinite(values).all():
        bad = int(np.flatnonzero(~np.isfinite(values))[0]) // dim
        row = int(np.flatnonzero(valid.to_numpy(zero_copy_only=False))[bad])
        raise InvalidVector(
            f'vector column "{col.name}" contains NaN or infinity',
            detail=f"row with key {key[row].as_py()!r}",
        )
    if not arr.null_count:
        return pa.FixedSizeListArray.from_arrays(flat.cast(pa.float32()), dim)  # no copy
    # NULL vectors take `dim` placeholder slots in a fixed-size list.
    padded = np.zeros(len(arr) * dim, dtype=np.float32)
    valid_np = valid.to_numpy(zero_copy_only=False)
    padded.reshape(len(arr), dim)[valid_np] = values.reshape(-1, dim)
    return pa.FixedSizeListArray.from_arrays(pa.array(padded), dim, mask=pa.array(~valid_np))
