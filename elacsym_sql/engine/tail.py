"""The unindexed WAL tail, resolved: newest write per key wins.

Kept incrementally as records arrive, so a read costs nothing extra and the fold gets
its rows ready-made.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ..schema import Schema
from ..wal import WalRecord


@dataclass(frozen=True)
class Tail:
    schema: Schema
    rows: pa.Table  # live rows written by the tail (upserts not superseded), storage types
    keys: pa.Array  # every key the tail wrote or deleted: these hide segment rows
    records: tuple[tuple[int, WalRecord], ...] = ()

    @classmethod
    def empty(cls, schema: Schema) -> Tail:
        arrow = schema.arrow_schema
        return cls(schema, arrow.empty_table(), pa.array([], arrow.field(schema.primary_key).type))

    @property
    def seqs(self) -> list[int]:
        return [seq for seq, _ in self.records]

    def apply(self, seq: int, record: WalRecord) -> Tail:
        key = self.schema.primary_key
        new_keys = record.table.column(key).combine_chunks()
        rows = self.rows.filter(pc.invert(pc.is_in(self.rows.column(key), value_set=new_keys)))
        if record.kind == "upsert":
            rows = pa.concat_tables([rows, record.table.cast(self.schema.arrow_schema)])
        older = self.keys.filter(pc.invert(pc.is_in(self.keys, value_set=new_keys)))
        keys = pa.concat_arrays([older, new_keys.cast(self.keys.type)])
        return Tail(self.schema, rows, keys, (*self.records, (seq, record)))

    def after(self, hwm: int) -> Tail:
        """The tail with records up to `hwm` removed (they were folded into segments)."""
        tail = Tail.empty(self.schema)
        for seq, record in self.records:
            if seq > hwm:
                tail = tail.apply(seq, record)
        return tail
