"""The unindexed WAL tail: the records written after the manifest's high-water mark.

Appending a record is O(1); the resolved rows (newest write per key wins) are computed
only when someone needs them, i.e. the fold.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pyarrow as pa
import pyarrow.compute as pc

from ..schema import Schema
from ..wal import WalRecord
from ..wal.record import Kind


@dataclass(frozen=True)
class Tail:
    schema: Schema
    records: tuple[tuple[int, WalRecord], ...] = ()

    def apply(self, seq: int, records: tuple[WalRecord, ...]) -> Tail:
        """The tail with one WAL object's records added at `seq` (the newest so far)."""
        return Tail(self.schema, (*self.records, *((seq, r) for r in records)))

    def insert(self, seq: int, records: tuple[WalRecord, ...]) -> Tail:
        """The tail with records added at `seq`, which may be older than others here (a
        transaction decided after later writes were read): kept in sequence order."""
        merged = sorted((*self.records, *((seq, r) for r in records)), key=lambda sr: sr[0])
        return Tail(self.schema, tuple(merged))

    def upto(self, seq: int) -> Tail:
        """The tail without the records after `seq`."""
        return Tail(self.schema, tuple((s, r) for s, r in self.records if s <= seq))

    def after(self, hwm: int) -> Tail:
        """The tail without the records up to `hwm` (they were folded into segments)."""
        return Tail(self.schema, tuple((s, r) for s, r in self.records if s > hwm))

    @property
    def pending_rows(self) -> int:
        return sum(r.rows for _, r in self.records)

    @cached_property
    def _resolved(self) -> tuple[pa.Table, pa.Array]:
        arrow = self.schema.arrow_schema
        key = self.schema.primary_key
        seen = pa.array([], arrow.field(key).type)
        parts: list[pa.Table] = []
        for _, record in reversed(self.records):  # newest first: the first write seen wins
            keys = record.table.column(key).combine_chunks().cast(seen.type)
            if record.kind == "upsert":
                fresh = pc.invert(pc.is_in(keys, value_set=seen))
                parts.append(record.table.cast(arrow).filter(fresh))
            seen = pa.concat_arrays([seen, keys])
        rows = pa.concat_tables(parts[::-1]) if parts else arrow.empty_table()
        return rows, pc.unique(seen)

    @property
    def rows(self) -> pa.Table:
        """Live rows the tail wrote (upserts not superseded within the tail)."""
        return self._resolved[0]

    @property
    def keys(self) -> pa.Array:
        """Every key the tail wrote or deleted: these hide older segment rows."""
        return self._resolved[1]


def net_change(schema: Schema, writes: list[tuple[Kind, pa.Table]]) -> list[tuple[Kind, pa.Table]]:
    """Writes made in this order (upserts' rows, deletes' keys) as at most one delete and one
    upsert with no key in both: the last write per key wins, as if appended one by one."""
    tail = Tail(schema, tuple((0, WalRecord(kind, "", table)) for kind, table in writes))
    rows, keys = tail.rows, tail.keys
    deleted = pc.filter(keys, pc.invert(pc.is_in(keys, value_set=rows[schema.primary_key])))
    parts: list[tuple[Kind, pa.Table]] = []
    if len(deleted):
        parts.append(("delete", pa.table({schema.primary_key: deleted})))
    if rows.num_rows:
        parts.append(("upsert", rows))
    return parts
