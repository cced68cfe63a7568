"""DuckDB's streamed query results: the one private DuckDB API this project uses, here only.

`DuckDBPyConnection._submit(sql, params, "stream", batch_rows)` (the call DuckDB's own
relation API makes) runs a query to a result that is computed as its Arrow batches are
read, not all before the first (decision 0023): the server holds one batch of a result its
client reads slowly. Errors raised while the batches are read reach us through pyarrow, as
`OSError` or `ArrowException` carrying only DuckDB's text ("<Kind> Error: ...");
`duckdb_error` gives back DuckDB's exception of that kind.

tests/sql/test_duckdb_stream_contract.py checks each of these against the installed
DuckDB; TESTED_WITH is the version it passed with (a new DuckDB: run it, then update).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

TESTED_WITH = "2.0.1"

# DuckDB's error kinds, by the prefix of their text.
_KINDS: dict[str, type[duckdb.Error]] = {
    "INTERRUPT": duckdb.InterruptException,
    "Conversion": duckdb.ConversionException,
    "Invalid Input": duckdb.InvalidInputException,
    "Out of Range": duckdb.OutOfRangeException,
    "Out of Memory": duckdb.OutOfMemoryException,
    "Constraint": duckdb.ConstraintException,
    "IO": duckdb.IOException,
    "Not implemented": duckdb.NotImplementedException,
}


class Stream:
    """A query submitted in the stream format: `description` at once, then its batches."""

    def __init__(
        self, cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None, rows: int
    ) -> None:
        # Only queries: the stream format fails a DuckDB INSERT after it ran.
        self._result = cur._submit(sql, params or None, "stream", rows)
        self._reader: pa.RecordBatchReader | None = None

    @property
    def description(self) -> list[tuple[Any, ...]]:
        return self._result.description or []

    def reader(self) -> pa.RecordBatchReader:
        """The result's batches, each computed when it is read (call once)."""
        self._reader = self._result.arrow_reader()
        return self._reader

    def close(self) -> None:
        """Free the cursor, whether or not the rows were read (to the end)."""
        if self._reader is not None:
            self._reader.close()
        with contextlib.suppress(duckdb.Error):  # the reader, or reading to the end, closed it
            self._result.close()


def duckdb_error(exc: Exception) -> duckdb.Error:
    """DuckDB's exception for an error that came through pyarrow while reading a stream."""
    text = str(exc)
    kind = text.partition(" Error: ")[0] if " Error: " in text else ""
    return _KINDS.get(kind, duckdb.Error)(text)
