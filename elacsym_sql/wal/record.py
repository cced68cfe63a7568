"""WAL record encoding: an Arrow IPC stream framed by a magic, a length and a CRC.

The frame makes a truncated or damaged object fail loudly on decode instead of replaying
half a statement.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from ..errors import CorruptObject

MAGIC = b"ELWAL001"
_HEADER = struct.Struct("<8sIQ")  # magic, crc32 of payload, payload length
_META_KEY = b"elacsym"

Kind = Literal["upsert", "delete", "drop"]


@dataclass(frozen=True)
class WalRecord:
    kind: Kind
    incarnation: str  # the namespace's CREATE this record belongs to
    table: pa.Table  # upsert: full rows; delete: the key column; drop: empty

    @property
    def rows(self) -> int:
        return self.table.num_rows


def encode_record(record: WalRecord) -> memoryview:
    """The framed record, built in one buffer (WAL records can be hundreds of MB)."""
    meta = json.dumps({"kind": record.kind, "incarnation": record.incarnation}).encode()
    table = record.table.replace_schema_metadata({_META_KEY: meta})
    sink = pa.BufferOutputStream()
    sink.write(bytes(_HEADER.size))  # filled in below, once the payload's CRC is known
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    frame = memoryview(sink.getvalue())  # writable: the stream's own buffer
    payload = frame[_HEADER.size :]
    _HEADER.pack_into(frame, 0, MAGIC, zlib.crc32(payload), len(payload))
    return frame


def decode_record(data: bytes | memoryview, where: str) -> WalRecord:
    """Decode one WAL object; `where` names it in the error when it is damaged."""
    if len(data) < _HEADER.size:
        raise CorruptObject(f"WAL object {where} is truncated ({len(data)} bytes)")
    magic, crc, length = _HEADER.unpack_from(data)
    payload = memoryview(data)[_HEADER.size :]
    if magic != MAGIC:
        raise CorruptObject(f"WAL object {where} is not an elacsym WAL record")
    if len(payload) != length:
        raise CorruptObject(
            f"WAL object {where} is truncated: {len(payload)} of {length} payload bytes"
        )
    if zlib.crc32(payload) != crc:
        raise CorruptObject(f"WAL object {where} fails its checksum")
    try:
        table = pa.ipc.open_stream(pa.py_buffer(payload)).read_all()
        meta = json.loads(table.schema.metadata[_META_KEY])
    except (pa.ArrowInvalid, KeyError, ValueError) as exc:
        raise CorruptObject(f"WAL object {where} does not decode: {exc}") from None
    return WalRecord(meta["kind"], meta["incarnation"], table.replace_schema_metadata(None))
