"""DataRows of rows another member returned for a forwarded write (sql/relayed.py). The
owner sent text: a column the client reads as text gets the owner's bytes unchanged; one it
reads in binary gets the value read as its type (as a Bind parameter is) and sent in
binary (as a result of ours is)."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from ..sql.pg_catalog.pg_types import Column
from . import params, values


class RelayEncoder:
    def __init__(self, columns: Sequence[Column], formats: Sequence[int]) -> None:
        self._binary = [
            (c.oid if fmt == 1 else None) for c, fmt in zip(columns, formats, strict=True)
        ]

    def encode(self, rows: Sequence[Sequence[bytes | None]]) -> bytes:
        out = []
        for row in rows:
            fields = [
                _field(self._form(raw, oid)) for raw, oid in zip(row, self._binary, strict=True)
            ]
            body = b"".join(fields)
            out.append(b"D" + struct.pack("!ih", 6 + len(body), len(fields)) + body)
        return b"".join(out)

    @staticmethod
    def _form(raw: bytes | None, binary_oid: int | None) -> bytes | None:
        if raw is None or binary_oid is None:
            return raw
        return values.binary(params.decode(raw, binary_oid, False), binary_oid)


def _field(data: bytes | None) -> bytes:
    return b"\xff\xff\xff\xff" if data is None else struct.pack("!i", len(data)) + data
