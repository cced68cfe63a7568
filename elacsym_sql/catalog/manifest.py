"""The manifest: everything a reader needs to see one version of a namespace."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import CorruptObject
from ..layout import segment_data_key
from ..schema import Schema

FORMAT = 1


@dataclass(frozen=True)
class SegmentEntry:
    id: str
    rows: int  # rows in data.parquet
    bytes: int
    deleted: int = 0  # rows of this segment superseded or deleted later
    deletes_key: str | None = None  # sorted uint32 row positions, when deleted > 0
    indexes: dict[str, str] = field(default_factory=dict)  # index name -> object key
    index_bytes: int = 0  # total size of the index objects
    # index name -> [[ef, recall@10], ...] measured when it was built (index/calibrate.py)
    ef_recall: dict[str, list[list[float]]] = field(default_factory=dict)

    @property
    def live_rows(self) -> int:
        return self.rows - self.deleted

    def data_key(self, namespace: str) -> str:
        return segment_data_key(namespace, self.id)

    def keys(self, namespace: str) -> list[str]:
        """Every object this segment references."""
        keys = [self.data_key(namespace), *self.indexes.values()]
        return keys + ([self.deletes_key] if self.deletes_key else [])


@dataclass(frozen=True)
class Manifest:
    version: int
    schema: Schema
    incarnation: str  # changes when the namespace is dropped and created again
    wal_hwm: int  # every WAL record with seq <= wal_hwm is in the segments
    segments: tuple[SegmentEntry, ...] = ()
    dropped: bool = False
    created_at: float = 0.0
    fts: dict[str, Any] | None = None  # the full-text index version (index.fulltext.FtsState)

    @property
    def namespace(self) -> str:
        return self.schema.name

    @property
    def rows(self) -> int:
        return sum(s.live_rows for s in self.segments)

    def next(self, **changes: Any) -> Manifest:
        return replace(self, version=self.version + 1, **changes)

    def referenced_keys(self) -> set[str]:
        fts = {key for _, key in self.fts["files"]} if self.fts else set()
        return {k for s in self.segments for k in s.keys(self.namespace)} | fts

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "version": self.version,
                "schema": self.schema.to_json(),
                "incarnation": self.incarnation,
                "wal_hwm": self.wal_hwm,
                "dropped": self.dropped,
                "created_at": self.created_at,
                "segments": [s.__dict__ for s in self.segments],
                "fts": self.fts,
            },
            indent=1,
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> Manifest:
        try:
            raw = json.loads(data)
            if raw["format"] != FORMAT:
                raise ValueError(f"unknown manifest format {raw['format']}")
            return cls(
                version=raw["version"],
                schema=Schema.from_json(raw["schema"]),
                incarnation=raw["incarnation"],
                wal_hwm=raw["wal_hwm"],
                dropped=raw["dropped"],
                created_at=raw["created_at"],
                segments=tuple(SegmentEntry(**s) for s in raw["segments"]),
                fts=raw.get("fts"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CorruptObject(f"manifest {where} does not decode: {exc}") from None
