"""What a statement did (Outcome) and the rows it returns, however they were computed.

Most results wait on the session's DuckDB cursor. Plain search statements are answered
without DuckDB (direct.py) as an Arrow table; `ArrowResult` hands them out exactly as
DuckDB would (same Python values, same description), so callers cannot tell them apart.
"""

from __future__ import annotations

import functools
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import pyarrow as pa

from .duckdb_stream import Stream, duckdb_error
from .errors import translate
from .views import quote

# DuckDB suggests its relation API to save a copy; a cursor's result is what we have. Set
# once here, for calls from this module only: warnings.catch_warnings() around each call
# is not thread-safe, and server sessions fetch on many threads at once.
warnings.filterwarnings(
    "ignore", "Arrow output on a DB-API result", UserWarning, r"elacsym_sql\.sql\.results"
)

Description = list[tuple[str, Any, None, None, None, None, None]]


class ResultSet:
    """Rows of one statement, read once from the front."""

    @property
    def description(self) -> Description:
        raise NotImplementedError

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def fetchall(self) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def batches(self, rows_per_batch: int = 65_536) -> Iterator[pa.RecordBatch]:
        """The remaining rows as Arrow record batches (DuckDB's Arrow forms)."""
        raise NotImplementedError

    def arrow(self) -> pa.Table:
        raise NotImplementedError

    def df(self) -> Any:
        raise NotImplementedError

    def numpy(self) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Let go of the rows not read yet (and of the cursor, if they hold it)."""


class DuckResult(ResultSet):
    """The pending result of a DuckDB cursor; `names`, when given, replace DuckDB's
    column names (Postgres names some columns otherwise: column_names.py)."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, names: list[str] | None = None) -> None:
        self._cur = cur
        self._names = names

    @property
    def description(self) -> Description:
        description = self._cur.description or []
        if self._names is None:
            return description
        return [(n, *d[1:]) for n, d in zip(self._names, description, strict=True)]

    def renamed(self, names: list[str] | None) -> DuckResult:
        return DuckResult(self._cur, names)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cur.fetchone()

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        return self._cur.fetchmany(size)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cur.fetchall()

    def batches(self, rows_per_batch: int = 65_536) -> Iterator[pa.RecordBatch]:
        for batch in self._cur.to_arrow_reader(rows_per_batch):
            yield batch if self._names is None else batch.rename_columns(self._names)

    def arrow(self) -> pa.Table:
        table = self._cur.to_arrow_table()
        return table if self._names is None else table.rename_columns(self._names)

    def df(self) -> Any:
        frame = self._cur.fetchdf()
        if self._names is not None:
            frame.columns = self._names
        return frame

    def numpy(self) -> dict[str, Any]:
        arrays = self._cur.fetchnumpy()
        if self._names is None or len(arrays) != len(self._names):
            return arrays  # duplicate names already share one key
        return dict(zip(self._names, arrays.values(), strict=True))


class StreamResult(ResultSet):
    """A query's rows streamed from DuckDB as Arrow batches, never held whole: the server
    reads them as fast as its client takes them (docs/decisions/0023). While it is open the
    cursor runs nothing else; `close` (or reading to the end) frees it. Rows are Arrow only:
    the server encodes them itself."""

    def __init__(self, result: Stream) -> None:
        self._result = result
        self._description = result.description or []  # gone once the rows are read
        self._names: list[str] | None = None

    def renamed(self, names: list[str] | None) -> StreamResult:
        """The same rows under Postgres's column names (None: DuckDB's)."""
        if names is not None:
            self._names = names
            self._description = [(n, *d[1:]) for n, d in zip(names, self._description, strict=True)]
        return self

    @property
    def description(self) -> Description:
        return self._description

    def batches(self, rows_per_batch: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Batches of the size the statement was submitted with."""
        reader = self._result.reader()
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (OSError, pa.ArrowException) as exc:  # DuckDB's error, as pyarrow's
                raise translate(duckdb_error(exc)) from None
            except duckdb.Error as exc:
                raise translate(exc) from None
            yield batch if self._names is None else batch.rename_columns(self._names)

    def close(self) -> None:
        self._result.close()


@functools.lru_cache(maxsize=256)
def _sqltype(name: str) -> duckdb.sqltypes.DuckDBPyType:
    """DuckDB's type object for a type's SQL text (duckdb.sqltype parses: ~20 µs)."""
    return duckdb.sqltype(name)


class ArrowResult(ResultSet):
    """Rows computed outside DuckDB, in the storage forms of their columns (UUID and JSON
    as text), with the DuckDB type each column has in SQL."""

    def __init__(self, table: pa.Table, types: list[str], cur: duckdb.DuckDBPyConnection) -> None:
        self._table = table
        self._types = types
        self._cur = cur  # makes DataFrames, NumPy and Arrow of the rows the way DuckDB does
        self._position = 0
        self._rows: list[tuple[Any, ...]] | None = None
        self._description: Description | None = None

    @property
    def description(self) -> Description:
        if self._description is None:
            self._description = [
                (name, _sqltype(t), None, None, None, None, None)
                for name, t in zip(self._table.column_names, self._types, strict=True)
            ]
        return self._description

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        rows = self._python_rows()
        out = rows[self._position : self._position + size]
        self._position += len(out)
        return out

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.fetchmany(len(self._python_rows()))

    def batches(self, rows_per_batch: int = 65_536) -> Iterator[pa.RecordBatch]:
        yield from self._rest().to_batches(rows_per_batch)

    def arrow(self) -> pa.Table:
        return self._through_duckdb().to_arrow_table()

    def df(self) -> Any:
        return self._through_duckdb().df()

    def numpy(self) -> dict[str, Any]:
        return self._through_duckdb().fetchnumpy()

    def _rest(self) -> pa.Table:
        rest = self._table.slice(self._position)
        self._position = self._table.num_rows
        return rest

    def _through_duckdb(self) -> duckdb.DuckDBPyRelation:
        rest = self._rest()
        casts = ", ".join(
            f"CAST({quote(n)} AS {t}) AS {quote(n)}"
            for n, t in zip(rest.column_names, self._types, strict=True)
        )
        return self._cur.from_arrow(rest).project(casts)

    def _python_rows(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            columns = [
                _python_values(col, t)
                for col, t in zip(self._table.columns, self._types, strict=True)
            ]
            self._rows = list(zip(*columns, strict=True)) if columns else []
        return self._rows


def _python_values(column: pa.ChunkedArray, type_: str) -> list[Any]:
    convert = _converter(type_)
    values = column.to_pylist()
    return values if convert is None else [None if v is None else convert(v) for v in values]


def _converter(type_: str) -> Callable[[Any], Any] | None:
    """How DuckDB's Python values differ from pyarrow's for a column type: UUIDs are
    uuid.UUID, fixed-size arrays are tuples; None when they agree."""
    if type_ == "UUID":
        return uuid.UUID
    if type_.endswith("]"):
        inner_type, _, size = type_[:-1].rpartition("[")
        inner = _converter(inner_type)

        def convert(values: list[Any]) -> Any:
            items = values if inner is None else [None if v is None else inner(v) for v in values]
            return tuple(items) if size else items

        return convert
    return None


@dataclass(frozen=True)
class Outcome:
    """What a statement did; for kind 'rows', the rows it returns."""

    kind: Literal["rows", "count", "none"]
    command: str  # the Postgres command tag's verb: SELECT, INSERT, CREATE TABLE, ...
    rowcount: int = -1
    result: ResultSet | None = None
    # The wire's type text per column where DuckDB's differs (declared_types.py), else None.
    types: list[str] | None = None
