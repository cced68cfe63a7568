"""A statement's outcome as wire messages: RowDescription, DataRows, CommandComplete tags.

Row results stream batch by batch (a worker thread encodes the next batch while the
event loop writes the last); a row limit (Execute's max_rows) splits a batch and keeps
the rest for the next Execute of the portal.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from ..sql import Outcome
from ..sql.pg_catalog.pg_types import Column, column
from ..sql.relayed import RelayedRows
from . import frontend as f
from . import protocol as p
from .encode import RowEncoder
from .relay import RelayEncoder

BATCH_ROWS = 65_536
# Rows are encoded and written at most about this many bytes at a time (by their Arrow
# size), so a client that stops reading holds little of the server's memory.
CHUNK_BYTES = 1 << 20
# Verbs whose statements return rows as results; others answer with a command tag.
_ROW_COMMANDS = {"SELECT", "SHOW", "DESCRIBE", "EXPLAIN", "PRAGMA", "CALL", "SUMMARIZE",
                 "WITH", "TABLE", "VALUES", "COMMAND", "FROM", "UNION", "FETCH"}  # fmt: skip


def columns_of(outcome: Outcome) -> list[Column]:
    assert outcome.result is not None
    if isinstance(outcome.result, RelayedRows):
        return list(outcome.result.columns)  # as the owner described them
    description = outcome.result.description
    types = outcome.types or [str(d[1]) for d in description]
    return [column(d[0], type_) for d, type_ in zip(description, types, strict=True)]


def returns_rows(outcome: Outcome) -> bool:
    """Whether to answer with rows; a DuckDB DDL or write answers with its tag only."""
    if outcome.kind != "rows" or outcome.result is None:
        return False
    description = outcome.result.description
    if not description:
        return False
    if outcome.command in _ROW_COMMANDS:
        return True
    return not (len(description) == 1 and description[0][0] == "Count")


def tag(outcome: Outcome, rows: int) -> str:
    """The CommandComplete tag Postgres would send."""
    command = outcome.command
    if outcome.kind == "count":
        n = max(outcome.rowcount, 0)
        return f"INSERT 0 {n}" if command == "INSERT" else f"{command} {n}"
    if outcome.kind == "rows" and command in ("SHOW",):
        return "SHOW"
    if command == "FETCH":
        return f"FETCH {rows}"
    if outcome.kind == "rows" and command in ("INSERT", "UPDATE", "DELETE"):
        # RETURNING's rows, or DuckDB's own table's count: the write's tag either way.
        return f"INSERT 0 {rows}" if command == "INSERT" else f"{command} {rows}"
    if outcome.kind == "rows" and returns_rows(outcome):
        return f"SELECT {rows}"
    return command


def count_of(outcome: Outcome) -> int:
    """The count DuckDB reports for its own INSERT/UPDATE/DELETE (a one-row 'Count')."""
    assert outcome.result is not None
    row = outcome.result.fetchone()
    return int(row[0]) if row and isinstance(row[0], int) else 0


@dataclass
class RowStream:
    """The rows of one result, encoded for one client, readable in limited steps."""

    outcome: Outcome
    columns: Sequence[Column]
    formats: Sequence[int]
    sent: int = 0
    _batches: Iterator[pa.RecordBatch] | None = None
    _rest: pa.RecordBatch | None = None
    _encoder: RowEncoder | None = field(default=None, repr=False)
    done: bool = False

    def _start(self) -> None:
        self._encoder = RowEncoder(self.columns, self.formats)
        assert self.outcome.result is not None
        self._batches = iter(self.outcome.result.batches(BATCH_ROWS))

    def next_chunk(self, limit: int) -> tuple[bytes | memoryview, int]:
        """Encode up to `limit` rows (0: no limit) of the next batch: (bytes, rows). Reads
        one batch ahead, so `done` is known as soon as the last rows are encoded."""
        if isinstance(self.outcome.result, RelayedRows):
            return self._relayed_chunk(self.outcome.result, limit)
        if self._encoder is None:
            self._start()
        assert self._batches is not None and self._encoder is not None
        batch = self._rest if self._rest is not None else next(self._batches, None)
        self._rest = None
        if batch is None:
            self.done = True
            return b"", 0
        take = max(1, CHUNK_BYTES * batch.num_rows // max(batch.nbytes, 1))
        take = min(take, limit) if limit else take
        if batch.num_rows > take:
            self._rest = batch.slice(take)
            batch = batch.slice(0, take)
        else:
            self._rest = next(self._batches, None)
            self.done = self._rest is None
        self.sent += batch.num_rows
        return self._encoder.encode(batch), batch.num_rows

    def _relayed_chunk(self, result: RelayedRows, limit: int) -> tuple[bytes, int]:
        """Rows another member returned (all in memory: a write's RETURNING)."""
        rows = result.take_raw(limit)
        self.done = result.done
        self.sent += len(rows)
        return RelayEncoder(self.columns, self.formats).encode(rows), len(rows)

    def close(self) -> None:
        """Stop early: the rows not sent are dropped, the cursor freed."""
        self._batches, self._rest, self.done = None, None, True
        assert self.outcome.result is not None
        self.outcome.result.close()

    def materialize(self) -> None:
        """Read what is left into memory, so the cursor is free for other statements."""
        if self.done or isinstance(self.outcome.result, RelayedRows):
            return  # already in memory
        if self._encoder is None:
            self._start()
        assert self._batches is not None
        rest = [self._rest] if self._rest is not None else []
        rest.extend(self._batches)
        self._rest = None
        self._batches = iter(rest)


def first_messages(
    outcome: Outcome,
    formats: Sequence[int],
    limit: int,
    describe: bool,
    columns: Sequence[Column] | None = None,
    no_data: bool = True,
) -> tuple[list[bytes | memoryview], RowStream | None]:
    """A statement's answer as far as its first chunk of rows (a worker's job: it reads
    and encodes), and the stream of rows when it returns rows. `describe`: begin with
    RowDescription, or NoData when no rows come and `no_data` (the simple protocol never
    sends NoData: pgJDBC's simple mode fails on it); `columns`: as described earlier,
    else the result's own."""
    messages: list[bytes | memoryview] = []
    if not returns_rows(outcome):
        if describe and no_data:
            messages.append(p.NO_DATA)
        rows = 0
        if outcome.kind == "rows" and outcome.command in ("INSERT", "UPDATE", "DELETE"):
            rows = count_of(outcome)  # DuckDB's own table
        messages.append(p.command_complete(tag(outcome, rows)))
        return messages, None
    columns = columns if columns is not None else columns_of(outcome)
    formats = f.per_column(formats, len(columns))
    if describe:
        messages.append(row_description(columns, formats))
    stream = RowStream(outcome, columns, formats)
    chunk, n = stream.next_chunk(limit)
    if n:
        messages.append(chunk)
    return messages, stream


def row_description(columns: Sequence[Column], formats: Sequence[int]) -> bytes:
    return p.row_description([p.Field(c.name, c.oid, c.size, c.modifier) for c in columns], formats)
