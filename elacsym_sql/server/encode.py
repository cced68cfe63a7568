"""Arrow record batches to DataRow messages, column by column.

Each column becomes an Arrow binary array of complete wire fields (length prefix plus
value, or -1 for NULL), built with numpy and Arrow compute rather than per value; the
fields and a per-row header are then joined element-wise, and the joined array's data
buffer is the DataRow messages, back to back. Types without a vectorised form go through
values.py one value at a time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..sql.pg_catalog import pg_types as t
from ..sql.pg_catalog.pg_types import Column
from . import values

NULL_FIELD = pa.scalar(b"\xff\xff\xff\xff", pa.large_binary())
SEP = pa.scalar(b"", pa.large_binary())
PG_EPOCH_DAYS = 10_957  # 1970-01-01 to 2000-01-01
PG_EPOCH_MICROS = PG_EPOCH_DAYS * 86_400_000_000
ROW_HEADER = np.dtype([("kind", "S1"), ("length", ">i4"), ("count", ">i2")])

Encoder = Callable[[pa.Array], pa.Array]  # column -> large_binary wire fields, no nulls


# Up to this many rows, DataRows are joined in Python: the column-wise path's dozen Arrow
# calls cost more than they save (a vector_search answer is ~10 rows).
SMALL_BATCH = 32


class RowEncoder:
    """Encodes batches of one result into DataRow bytes, in the formats the client asked."""

    def __init__(self, columns: Sequence[Column], formats: Sequence[int]) -> None:
        self._encoders = [
            field_encoder(c.oid, fmt == 1) for c, fmt in zip(columns, formats, strict=True)
        ]
        self._small = [
            _small_text(c.oid) if fmt == 0 else None
            for c, fmt in zip(columns, formats, strict=True)
        ]

    def encode(self, batch: pa.RecordBatch) -> bytes | memoryview:
        n = batch.num_rows
        if n == 0:
            return b""
        if n <= SMALL_BATCH:
            return self._encode_small(batch)
        fields = [enc(col) for enc, col in zip(self._encoders, batch.columns, strict=True)]
        length = np.full(n, 6, dtype=np.int64)  # the length word and the column count
        for f in fields:
            offsets = np.frombuffer(
                f.buffers()[1], dtype=np.int64, count=n + 1, offset=f.offset * 8
            )
            length += np.diff(offsets)
        header = np.empty(n, dtype=ROW_HEADER)
        header["kind"] = b"D"
        header["length"] = length
        header["count"] = len(fields)
        return joined_bytes(fixed_width(header.tobytes(), 7, n), *fields)

    def _encode_small(self, batch: pa.RecordBatch) -> bytes:
        """The same bytes as encode(), one row at a time: ints, text and booleans in text
        format are formatted here, other columns come from their column-wise encoder."""
        fields: list[list[bytes]] = []
        for small, enc, col in zip(self._small, self._encoders, batch.columns, strict=True):
            if small is not None and small[0](col.type):
                fields.append(
                    [NULL_BYTES if v is None else _field(small[1](v)) for v in col.to_pylist()]
                )
            else:
                fields.append(enc(col).to_pylist())
        count = len(fields)
        out = []
        for row in zip(*fields, strict=True):
            body = b"".join(row)
            out.append(b"D" + struct.pack("!ih", 6 + len(body), count) + body)
        return b"".join(out)


NULL_BYTES = b"\xff\xff\xff\xff"
SmallText = tuple[Callable[[pa.DataType], bool], Callable[[Any], bytes]]


def _field(data: bytes) -> bytes:
    return struct.pack("!i", len(data)) + data


def _small_text(oid: int) -> SmallText | None:
    """For the text format: which Arrow types a Python formatter gives the column-wise
    path's exact bytes for, and that formatter; None for every other type."""
    if oid in (t.INT2, t.INT4, t.INT8, t.OID):
        return pa.types.is_integer, lambda v: str(v).encode()
    if oid in (t.TEXT, t.VARCHAR):
        return lambda typ: pa.types.is_string(typ) or pa.types.is_large_string(typ), str.encode
    if oid == t.BOOL:
        return pa.types.is_boolean, lambda v: b"t" if v else b"f"
    return None


def joined_bytes(*columns: pa.Array) -> memoryview:
    """Each row's values of `columns` (large_binary) concatenated, all rows back to back:
    the data buffer of their element-wise join, without a copy."""
    rows = pc.binary_join_element_wise(*columns, SEP)
    n = len(rows)
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64, count=n + 1, offset=rows.offset * 8)
    return memoryview(rows.buffers()[2])[offsets[0] : offsets[-1]]


def field_encoder(oid: int, binary: bool) -> Encoder:
    """One column's values as wire fields: a length word and the bytes, -1 for NULL."""
    return _binary_encoder(oid) if binary else _text_encoder(oid)


def fixed_width(data: bytes | np.ndarray, width: int, n: int) -> pa.Array:
    """n values of `width` bytes each, laid end to end in `data`, as large_binary."""
    buf = pa.py_buffer(data)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, buf]).cast(
        pa.large_binary()
    )


def _with_nulls(fields: pa.Array, column: pa.Array) -> pa.Array:
    if column.null_count == 0:
        return fields
    return pc.if_else(pc.is_valid(column), fields, NULL_FIELD)


def _payload_fields(payload: pa.Array) -> pa.Array:
    """Variable-length payloads (binary or string, with nulls) as wire fields."""
    payload = payload.cast(pa.large_binary())
    n = len(payload)
    lengths = pc.binary_length(payload).fill_null(-1).to_numpy(zero_copy_only=False)
    prefix = fixed_width(lengths.astype(">i4").tobytes(), 4, n)
    return pc.binary_join_element_wise(prefix, payload.fill_null(b""), SEP)


def _number_fields(column: pa.Array, dtype: str) -> pa.Array:
    """Fixed-size numbers in network byte order, each with its length word."""
    n = len(column)
    size = np.dtype(dtype).itemsize
    data = column.fill_null(0).to_numpy(zero_copy_only=False)
    packed = np.empty(n, dtype=[("length", ">i4"), ("value", dtype)])
    packed["length"] = size
    packed["value"] = data
    return _with_nulls(fixed_width(packed.tobytes(), 4 + size, n), column)


def _per_value(convert: Callable[[object], bytes | str | None]) -> Encoder:
    def encode(column: pa.Array) -> pa.Array:
        out = []
        for v in column.to_pylist():
            data = None if v is None else convert(v)  # NULL stays NULL, never converted
            out.append(data.encode("utf-8") if isinstance(data, str) else data)
        return _payload_fields(pa.array(out, pa.large_binary()))

    return encode


# -- binary --------------------------------------------------------------------------------


def _binary_number(dtype: str, cast: pa.DataType | None = None) -> Encoder:
    def encode(column: pa.Array) -> pa.Array:
        if cast is not None and column.type != cast:
            column = column.cast(cast)
        return _number_fields(column, dtype)

    return encode


def _binary_bool(column: pa.Array) -> pa.Array:
    return _number_fields(column.cast(pa.uint8()), ">u1")


def _binary_date(column: pa.Array) -> pa.Array:
    days = pc.subtract(column.cast(pa.int32()), PG_EPOCH_DAYS)
    return _with_nulls(_number_fields(days, ">i4"), column)


def _binary_timestamp(column: pa.Array) -> pa.Array:
    micros = column.cast(pa.timestamp("us", tz=column.type.tz)).cast(pa.int64())
    return _number_fields(pc.subtract(micros, PG_EPOCH_MICROS), ">i8")


def _binary_time(column: pa.Array) -> pa.Array:
    return _number_fields(column.cast(pa.time64("us")).cast(pa.int64()), ">i8")


def _binary_bytes(column: pa.Array) -> pa.Array:
    if (
        pa.types.is_string(column.type)
        or pa.types.is_binary(column.type)
        or pa.types.is_large_string(column.type)
    ):
        return _payload_fields(column)
    return _per_value(lambda v: values.text(v, t.TEXT))(column)


_VECTOR_ELEMENTS = {t.FLOAT4: ">f4", t.FLOAT8: ">f8", t.INT4: ">i4", t.INT8: ">i8", t.INT2: ">i2"}


def _binary_array(oid: int) -> Encoder:
    element = t.BY_OID[oid].element
    slow = _per_value(lambda v: values.binary(v, oid))
    dtype = _VECTOR_ELEMENTS.get(element)

    def encode(column: pa.Array) -> pa.Array:
        # Vectors (fixed-size lists of numbers without NULL elements) are laid out by numpy.
        if dtype is None or not pa.types.is_fixed_size_list(column.type):
            return slow(column)
        flat = column.flatten()
        if flat.null_count or len(flat) != len(column) * column.type.list_size:
            return slow(column)
        n, d = len(column), column.type.list_size
        size = np.dtype(dtype).itemsize
        packed = np.empty(
            n,
            dtype=[
                ("length", ">i4"),
                ("head", ">i4", 5),
                ("items", [("n", ">i4"), ("v", dtype)], d),
            ],
        )
        packed["length"] = 20 + d * (4 + size)
        packed["head"] = (1, 0, element, d, 1)  # ndim, has nulls, element type, size, lower bound
        packed["items"]["n"] = size
        packed["items"]["v"] = flat.to_numpy(zero_copy_only=False).reshape(n, d)
        return _with_nulls(fixed_width(packed.tobytes(), packed.dtype.itemsize, n), column)

    return encode


def _unconstrained(typ: pa.DataType) -> bool:
    """A bare NUMERIC's values (DECIMAL(38,12), decision 0030): sent with the scale they
    need, not 12 decimals ('1.5', not '1.500000000000'), as Postgres keeps a numeric's."""
    return pa.types.is_decimal(typ) and (typ.precision, typ.scale) == t.UNCONSTRAINED_SCALE


def _binary_numeric(column: pa.Array) -> pa.Array:
    trim = _unconstrained(column.type)
    return _per_value(lambda v: values.binary(v.normalize() if trim else v, t.NUMERIC))(column)


def _binary_encoder(oid: int) -> Encoder:
    simple: dict[int, Encoder] = {
        t.BOOL: _binary_bool,
        t.INT2: _binary_number(">i2", pa.int16()),
        t.INT4: _binary_number(">i4", pa.int32()),
        t.INT8: _binary_number(">i8", pa.int64()),
        t.FLOAT4: _binary_number(">f4", pa.float32()),
        t.FLOAT8: _binary_number(">f8", pa.float64()),
        t.DATE: _binary_date,
        t.TIMESTAMP: _binary_timestamp,
        t.TIMESTAMPTZ: _binary_timestamp,
        t.TIME: _binary_time,
        t.TEXT: _binary_bytes,
        t.VARCHAR: _binary_bytes,
        t.JSON: _binary_bytes,
        t.BYTEA: _binary_bytes,
        t.NUMERIC: _binary_numeric,
    }
    if oid in simple:
        return simple[oid]
    if t.BY_OID.get(oid) is not None and t.BY_OID[oid].element:
        return _binary_array(oid)
    return _per_value(lambda v: values.binary(v, oid))


# -- text ----------------------------------------------------------------------------------


def _text_cast(column: pa.Array) -> pa.Array:
    return _payload_fields(column.cast(pa.string()))


def _text_bool(column: pa.Array) -> pa.Array:
    return _payload_fields(pc.if_else(column, "t", "f"))


def _float_strings(column: pa.Array) -> pa.Array:
    out = column.cast(pa.string())
    out = pc.replace_substring_regex(out, r"^(-?)inf$", r"\1Infinity")
    return pc.replace_substring_regex(out, r"^nan$", "NaN")


def _clock_strings(strings: pa.Array) -> pa.Array:
    """Drop the zeros of a fraction of a second ('05.250000' -> '05.25', '05.000000' -> '05')."""
    return pc.replace_substring_regex(strings, r"\.?0+$", "")


def _text_timestamp(column: pa.Array) -> pa.Array:
    tz = column.type.tz
    strings = _clock_strings(
        column.cast(pa.timestamp("us", tz=tz)).cast(pa.timestamp("us")).cast(pa.string())
    )
    if tz is not None:
        strings = pc.binary_join_element_wise(strings, "+00", "")
    return _payload_fields(strings)


def _text_time(column: pa.Array) -> pa.Array:
    return _payload_fields(_clock_strings(column.cast(pa.time64("us")).cast(pa.string())))


def _text_string(column: pa.Array) -> pa.Array:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return _payload_fields(column)
    return _per_value(lambda v: values.text(v, t.TEXT))(column)


def _element_strings(column: pa.Array, element: int) -> pa.Array | None:
    """Array items as text, ready for an array literal; None where a type has no fast path."""
    if element in (t.INT2, t.INT4, t.INT8, t.NUMERIC) and not pa.types.is_dictionary(column.type):
        out = column.cast(pa.string())
    elif element in (t.FLOAT4, t.FLOAT8):
        out = _float_strings(column)
    elif element == t.BOOL:
        out = pc.if_else(column, "t", "f")
    elif element in (t.TEXT, t.VARCHAR) and pa.types.is_string(column.type):
        quoted = pc.binary_join_element_wise(
            '"', pc.replace_substring_regex(column, r'(["\\])', r"\\\1"), '"', ""
        )
        plain = pc.match_substring_regex(column, r'^[^{},"\\\s]+$')
        plain = pc.and_(plain, pc.invert(pc.match_substring_regex(column, "^(?i:null)$")))
        out = pc.if_else(plain, column, quoted)
    else:
        return None
    return out.fill_null("NULL")


def _text_array(oid: int) -> Encoder:
    element = t.BY_OID[oid].element
    slow = _per_value(lambda v: values.text(v, oid))

    def encode(column: pa.Array) -> pa.Array:
        if not (pa.types.is_list(column.type) or pa.types.is_fixed_size_list(column.type)):
            return slow(column)
        if pa.types.is_fixed_size_list(column.type):
            size = column.type.list_size
            offsets = pa.array(np.arange(len(column) + 1, dtype=np.int32) * size)
            items = column.values.slice(column.offset * size, len(column) * size)
        else:
            offsets, items = column.offsets, column.values
            start, end = offsets[0].as_py(), offsets[-1].as_py()
            items = items.slice(start, end - start)
            offsets = pc.subtract(offsets, start)
        strings = _element_strings(items, element)
        if strings is None:
            return slow(column)
        joined = pc.binary_join(pa.ListArray.from_arrays(offsets, strings), ",")
        literal = pc.binary_join_element_wise("{", joined, "}", "")
        return _with_nulls(_payload_fields(literal.fill_null("")), column)

    return encode


def _text_encoder(oid: int) -> Encoder:
    simple: dict[int, Encoder] = {
        t.BOOL: _text_bool,
        t.INT2: _text_cast,
        t.INT4: _text_cast,
        t.INT8: _text_cast,
        t.FLOAT4: lambda c: _payload_fields(_float_strings(c)),
        t.FLOAT8: lambda c: _payload_fields(_float_strings(c)),
        t.DATE: _text_cast,
        t.TIMESTAMP: _text_timestamp,
        t.TIMESTAMPTZ: _text_timestamp,
        t.TIME: _text_time,
        t.TEXT: _text_string,
        t.VARCHAR: _text_string,
        t.JSON: _text_string,
        t.UUID: _text_string,
    }
    if oid in simple:
        return simple[oid]
    if oid in (t.INT2VECTOR, t.OIDVECTOR):  # '1 2', not '{1,2}'
        return _per_value(lambda v: " ".join(map(str, v)))
    if oid == t.NUMERIC:
        return lambda c: (
            _per_value(lambda v: format(v.normalize(), "f"))(c)  # 1E-12 as 0.000000000001
            if _unconstrained(c.type)
            else _text_cast(c)
            if pa.types.is_decimal(c.type) or pa.types.is_integer(c.type)
            else _per_value(lambda v: values.text(v, oid))(c)
        )
    if t.BY_OID.get(oid) is not None and t.BY_OID[oid].element:
        return _text_array(oid)
    return _per_value(lambda v: values.text(v, oid))
