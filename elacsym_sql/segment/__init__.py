"""Parquet segments (rows sorted by key, or by cluster under a clustered index) and their
delete files."""

from .deletes import decode_deletes, encode_deletes
from .files import read_keys, read_live_rows, read_rows, segment_parquet_bytes

__all__ = [
    "decode_deletes",
    "encode_deletes",
    "read_keys",
    "read_live_rows",
    "read_rows",
    "segment_parquet_bytes",
]
