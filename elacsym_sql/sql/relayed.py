"""Rows another member returned for a forwarded write (RETURNING, decision 0084), kept as
it sent them: its column descriptions and text-format values. The server passes them on
unchanged (server/relay.py); Python callers get them loaded by psycopg's text loaders,
as a psycopg client of the owner would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from psycopg import pq
from psycopg.adapt import Transformer

from ..cluster.pg_forward import Answer
from .pg_catalog import pg_types as t
from .pg_catalog.pg_types import Column
from .results import Description, ResultSet


class RelayedRows(ResultSet):
    def __init__(self, answer: Answer) -> None:
        self.columns = [Column(f.name, f.oid, f.size, f.modifier) for f in answer.fields]
        self.raw = answer.rows  # text-format values, None for NULL
        self._position = 0
        self._loaded: list[tuple[Any, ...]] | None = None

    @property
    def description(self) -> Description:
        def type_name(oid: int) -> str:
            known = t.BY_OID.get(oid)
            return known.name if known is not None else "text"

        return [(c.name, type_name(c.oid), None, None, None, None, None) for c in self.columns]

    def take_raw(self, limit: int) -> tuple[tuple[bytes | None, ...], ...]:
        """Up to `limit` (0: all) of the rows not read yet, as sent."""
        end = len(self.raw) if not limit else min(len(self.raw), self._position + limit)
        rows, self._position = self.raw[self._position : end], end
        return rows

    @property
    def done(self) -> bool:
        return self._position >= len(self.raw)

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        if self._loaded is None:
            self._loaded = _load(self.columns, self.raw)
        rows = self._loaded[self._position : self._position + size]
        self._position += len(rows)
        return rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.fetchmany(len(self.raw))

    def batches(self, rows_per_batch: int = 65_536) -> Iterator[pa.RecordBatch]:
        yield from self.arrow().to_batches(rows_per_batch)

    def arrow(self) -> pa.Table:
        rows = self.fetchall()
        arrays = [pa.array([row[i] for row in rows]) for i in range(len(self.columns))]
        return pa.Table.from_arrays(arrays, names=[c.name for c in self.columns])

    def df(self) -> Any:
        return self.arrow().to_pandas()

    def numpy(self) -> dict[str, Any]:
        table = self.arrow()
        return {n: c.to_numpy() for n, c in zip(table.column_names, table.columns, strict=True)}


def _load(
    columns: list[Column], raw: tuple[tuple[bytes | None, ...], ...]
) -> list[tuple[Any, ...]]:
    """Python values of text-format fields, by their types' OIDs (unknown OIDs as str)."""
    tx = Transformer()
    tx.set_loader_types([c.oid for c in columns], pq.Format.TEXT)
    return [tx.load_sequence(row) for row in raw]
