"""WAL object encoding: one object holds the records of one write (a statement, or a
transaction's net changes to one namespace), framed by a magic, a length and a CRC.

Payload: a little-endian u32 length and a JSON header (incarnation, the transaction it
belongs to, each record's kind), then each record's rows as a u64 length and an Arrow IPC
stream. The frame makes a truncated or damaged object fail loudly on decode instead of
replaying half a write. Objects of the first format (one record, ELWAL001) still decode.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from ..errors import CorruptObject

MAGIC_V1 = b"ELWAL001"
MAGIC = b"ELWAL002"
_HEADER = struct.Struct("<8sIQ")  # magic, crc32 of payload, payload length
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
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


@dataclass(frozen=True)
class TxnRef:
    """The multi-namespace transaction a WAL object is part of: it counts only once the
    transaction's decision object says committed (engine/txn_decisions.py)."""

    id: str
    participants: tuple[str, ...]  # every namespace the transaction writes
    started_at: float  # wall clock when the coordinator began committing

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "participants": list(self.participants), "at": self.started_at}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TxnRef:
        return cls(raw["id"], tuple(raw["participants"]), float(raw["at"]))


@dataclass(frozen=True)
class WalEntry:
    """The decoded contents of one WAL object."""

    records: tuple[WalRecord, ...]
    txn: TxnRef | None = None

    @property
    def incarnation(self) -> str:
        return self.records[0].incarnation if self.records else ""

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.records)


def encode_entry(records: tuple[WalRecord, ...], txn: TxnRef | None = None) -> memoryview:
    """The framed object, built in one buffer (WAL objects can be hundreds of MB)."""
    assert records and len({r.incarnation for r in records}) == 1
    header = json.dumps(
        {
            "incarnation": records[0].incarnation,
            "txn": txn.to_json() if txn else None,
            "kinds": [r.kind for r in records],
        }
    ).encode()
    sink = pa.BufferOutputStream()
    sink.write(bytes(_HEADER.size))  # filled in below, once the payload's CRC is known
    sink.write(_U32.pack(len(header)) + header)
    lengths: list[tuple[int, int]] = []  # (offset of the length field, stream length)
    for record in records:
        at = sink.tell()
        sink.write(bytes(_U64.size))
        with pa.ipc.new_stream(sink, record.table.schema) as writer:
            writer.write_table(record.table)
        lengths.append((at, sink.tell() - at - _U64.size))
    frame = memoryview(sink.getvalue())  # writable: the stream's own buffer
    for at, length in lengths:
        _U64.pack_into(frame, at, length)
    payload = frame[_HEADER.size :]
    _HEADER.pack_into(frame, 0, MAGIC, zlib.crc32(payload), len(payload))
    return frame


def decode_entry(data: bytes | memoryview, where: str) -> WalEntry:
    """Decode one WAL object; `where` names it in the error when it is damaged."""
    if len(data) < _HEADER.size:
        raise CorruptObject(f"WAL object {where} is truncated ({len(data)} bytes)")
    magic, crc, length = _HEADER.unpack_from(data)
    payload = memoryview(data)[_HEADER.size :]
    if magic not in (MAGIC, MAGIC_V1):
        raise CorruptObject(f"WAL object {where} is not an elacsym WAL record")
    if len(payload) != length:
        raise CorruptObject(
            f"WAL object {where} is truncated: {len(payload)} of {length} payload bytes"
        )
    if zlib.crc32(payload) != crc:
        raise CorruptObject(f"WAL object {where} fails its checksum")
    try:
        if magic == MAGIC_V1:
            return _decode_v1(payload)
        return _decode(payload)
    except (pa.ArrowInvalid, KeyError, ValueError, TypeError, struct.error) as exc:
        raise CorruptObject(f"WAL object {where} does not decode: {exc}") from None


def _decode(payload: memoryview) -> WalEntry:
    (header_len,) = _U32.unpack_from(payload)
    pos = _U32.size + header_len
    header = json.loads(bytes(payload[_U32.size : pos]))
    records = []
    for kind in header["kinds"]:
        (length,) = _U64.unpack_from(payload, pos)
        pos += _U64.size
        stream = pa.py_buffer(payload[pos : pos + length])
        records.append(
            WalRecord(kind, header["incarnation"], pa.ipc.open_stream(stream).read_all())
        )
        pos += length
    if pos != len(payload):
        raise ValueError(f"{len(payload) - pos} bytes after the last record")
    txn = TxnRef.from_json(header["txn"]) if header["txn"] else None
    return WalEntry(tuple(records), txn)


def _decode_v1(payload: memoryview) -> WalEntry:
    """The first format: one Arrow stream whose schema metadata holds kind and incarnation."""
    table = pa.ipc.open_stream(pa.py_buffer(payload)).read_all()
    meta = json.loads(table.schema.metadata[_META_KEY])
    record = WalRecord(meta["kind"], meta["incarnation"], table.replace_schema_metadata(None))
    return WalEntry((record,))
