"""Small results are joined into DataRows in Python (encode.SMALL_BATCH); the bytes must be
exactly those of the column-wise path, for every type, format and NULL pattern."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pyarrow as pa
import pytest

from elacsym_sql.server import encode
from elacsym_sql.sql.pg_catalog.pg_types import column

COLUMNS = [
    ("i", "BIGINT", pa.int64(), lambda i: i * 10**12 - 5),
    ("n", "INTEGER", pa.int32(), lambda i: -i),
    ("s", "SMALLINT", pa.int16(), lambda i: i - 3),
    ("t", "VARCHAR", pa.string(), lambda i: f'tëxt {i}, "q"'),
    ("b", "BOOLEAN", pa.bool_(), lambda i: i % 2 == 0),
    ("d", "DOUBLE", pa.float64(), lambda i: i / 3),
    ("v", "FLOAT[3]", pa.list_(pa.float32(), 3), lambda i: [1.5, i, -2]),
    ("ts", "TIMESTAMP", pa.timestamp("us"), lambda i: dt.datetime(2024, 1, 1, 0, 0, i % 60)),
    ("u", "UUID", pa.string(), lambda i: str(uuid.UUID(int=i))),
    ("m", "DECIMAL(10,2)", pa.decimal128(10, 2), lambda i: decimal.Decimal(i) / 4),
    ("l", "VARCHAR[]", pa.list_(pa.string()), lambda i: ["a", None, str(i)]),
]


def _batch(n: int) -> pa.RecordBatch:
    return pa.record_batch(
        {
            name: pa.array([None if (i + k) % 5 == 1 else make(i) for i in range(n)], arrow_type)
            for k, (name, _, arrow_type, make) in enumerate(COLUMNS)
        }
    )


@pytest.mark.parametrize("rows", [1, 2, 10, encode.SMALL_BATCH])
@pytest.mark.parametrize("formats", ["text", "binary", "mixed"])
def test_small_batches_encode_like_the_column_wise_path(monkeypatch, rows, formats):
    columns = [column(name, duck) for name, duck, _, _ in COLUMNS]
    fmts = {
        "text": [0] * len(columns),
        "binary": [1] * len(columns),
        "mixed": [i % 2 for i in range(len(columns))],
    }[formats]
    batch = _batch(rows)
    small = bytes(encode.RowEncoder(columns, fmts).encode(batch))
    monkeypatch.setattr(encode, "SMALL_BATCH", 0)
    column_wise = bytes(encode.RowEncoder(columns, fmts).encode(batch))
    assert small == column_wise
    assert small.count(b"D\x00") >= rows  # one DataRow per row, really encoded
