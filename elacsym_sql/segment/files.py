"""Writing and reading segment Parquet files."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 65_536


def segment_parquet_bytes(rows: pa.Table, row_group_rows: int = ROW_GROUP_ROWS) -> bytes:
    """Parquet bytes of `rows` (zstd, ~64k-row groups unless told otherwise)."""
    sink = pa.BufferOutputStream()
    pq.write_table(rows, sink, compression="zstd", row_group_size=row_group_rows)
    return sink.getvalue().to_pybytes()


def read_keys(path: str, key_column: str) -> pa.Array:
    """The key column of a segment, in row order (key order, or a clustered index's)."""
    return pq.read_table(path, columns=[key_column]).column(key_column).combine_chunks()


def read_rows(path: str, schema: pa.Schema) -> pa.Table:
    """Every row of a segment, cast to the namespace's storage types."""
    return pq.read_table(path, columns=schema.names).cast(schema)


def read_live_rows(path: str, deleted: np.ndarray, schema: pa.Schema) -> pa.Table:
    """A segment's rows minus the deleted positions."""
    table = read_rows(path, schema)
    if len(deleted):
        keep = np.ones(table.num_rows, dtype=bool)
        keep[deleted] = False
        table = table.filter(pa.array(keep))
    return table


def positions_of(keys: pa.Array, segment_keys: pa.Array) -> np.ndarray:
    """Row positions in a segment of those `keys` it holds."""
    found = pc.index_in(keys, value_set=segment_keys)
    return found.drop_null().to_numpy(zero_copy_only=False).astype("<u4")
