"""COPY TO STDOUT: Arrow record batches to CopyData messages, one per row (psycopg and
libpq read a row per message), column by column like DataRows (encode.py).

Values are the wire's text (or binary) forms; text format escapes backslash, newline,
carriage return, tab and the delimiter, CSV quotes what needs quoting.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..sql.pg_catalog.pg_types import Column
from . import protocol as p
from .copy_in import BINARY_SIGNATURE
from .copy_statement import CopyOptions
from .encode import ROW_HEADER, SEP, field_encoder, fixed_width, joined_bytes

_COPY_HEADER = np.dtype([("kind", "S1"), ("length", ">i4")])
COPY_DONE = p.message(b"c")


def copy_response(kind: bytes, binary: bool, ncols: int) -> bytes:
    """CopyInResponse (G) or CopyOutResponse (H): overall and per-column format."""
    fmt = 1 if binary else 0
    return p.message(kind, struct.pack("!bh", fmt, ncols) + struct.pack("!h", fmt) * ncols)


class CopyEncoder:
    def __init__(self, columns: Sequence[Column], options: CopyOptions) -> None:
        self.columns = columns
        self.options = options
        self.binary = options.format == "binary"
        self._encoders = [field_encoder(c.oid, self.binary) for c in columns]
        self._started = False
        force = options.force_quote
        self._force = [force == "*" or c.name in force for c in columns]

    def start(self) -> bytes:
        """What comes before the rows: a header line, or nothing yet (binary's signature
        travels in the first row's message, where psycopg looks for it)."""
        opts = self.options
        if self.binary or not opts.header:
            return b""
        names = pa.array([c.name for c in self.columns], pa.large_string())
        if opts.format == "csv":
            names = self._csv(names, False)
        else:
            names = _escape_text(names, opts.delimiter)
        line = opts.delimiter.join(names.to_pylist()) + "\n"
        return p.message(b"d", line.encode("utf-8"))

    def encode(self, batch: pa.RecordBatch) -> bytes | memoryview:
        n = batch.num_rows
        if n == 0:
            return b""
        fields = [enc(col) for enc, col in zip(self._encoders, batch.columns, strict=True)]
        if self.binary:
            return self._binary(fields, n)
        payloads = []
        for f, col, force in zip(fields, batch.columns, self._force, strict=True):
            longest = pc.max(pc.binary_length(f)).as_py() or 4
            text = pc.binary_slice(f, 4, longest).cast(pa.large_string())
            if self.options.format == "csv":
                text = self._csv(text, force)
            else:
                text = _escape_text(text, self.options.delimiter)
            valid = col.is_valid()
            payloads.append(
                pc.if_else(valid, text, _s(self.options.null)) if col.null_count else text
            )
        lines = pc.binary_join_element_wise(*payloads, _s(self.options.delimiter))
        lines = pc.binary_join_element_wise(lines, _s("\n"), _s("")).cast(pa.large_binary())
        return _messages(lines, n, _COPY_HEADER, 5)

    def finish(self) -> bytes:
        if not self.binary:
            return b""
        tail = struct.pack("!h", -1)
        if not self._started:
            tail = BINARY_SIGNATURE + struct.pack("!ii", 0, 0) + tail
        return p.message(b"d", tail)

    def _binary(self, fields: list[pa.Array], n: int) -> bytes | memoryview:
        rows = _messages(pc.binary_join_element_wise(*fields, SEP), n, ROW_HEADER, 7,
                         count=len(fields))  # fmt: skip
        if self._started:
            return rows
        self._started = True  # the signature goes inside the first row's CopyData
        first = bytes(rows[: 7 + _row_length(rows)])
        head = BINARY_SIGNATURE + struct.pack("!ii", 0, 0)
        patched = first[:1] + struct.pack("!i", len(first) - 1 + len(head)) + head + first[5:]
        return patched + bytes(rows[len(first) :])

    def _csv(self, text: pa.Array, force: bool) -> pa.Array:
        """Quote values holding the delimiter, quote, escape, CR or LF, values equal to the
        NULL string (an empty string next to an empty NULL) and forced columns."""
        opts = self.options
        specials = "".join(
            "\\" + c if c in "\\^-]" else c
            for c in {opts.delimiter, opts.quote, opts.escape, "\r", "\n"}
        )
        needs = pc.match_substring_regex(text, f"[{specials}]")
        needs = pc.or_(needs, pc.equal(text, _s(opts.null)))
        needs = pc.or_(needs, pc.equal(text, _s("\\.")))
        if force:
            needs = pc.or_(needs, pc.is_valid(text))
        escaped = text
        if opts.escape != opts.quote:
            escaped = pc.replace_substring(escaped, opts.escape, opts.escape * 2)
        escaped = pc.replace_substring(escaped, opts.quote, opts.escape + opts.quote)
        quote = _s(opts.quote)
        quoted = pc.binary_join_element_wise(quote, escaped, quote, _s(""))
        return pc.if_else(needs, quoted, text)


def _s(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def _escape_text(text: pa.Array, delimiter: str) -> pa.Array:
    out = pc.replace_substring(text, "\\", "\\\\")
    for char, escape in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        out = pc.replace_substring(out, char, escape)
    if delimiter not in "\t\\":
        out = pc.replace_substring(out, delimiter, "\\" + delimiter)
    return out


def _messages(
    payload: pa.Array, n: int, header_type: np.dtype, width: int, count: int | None = None
) -> memoryview:
    """Each row's payload behind a CopyData header ('d', length[, field count])."""
    lengths = pc.binary_length(payload).to_numpy(zero_copy_only=False)
    header = np.empty(n, dtype=header_type)
    header["kind"] = b"d"
    header["length"] = lengths + (width - 1)
    if count is not None:
        header["count"] = count
    return joined_bytes(fixed_width(header.tobytes(), width, n), payload)


def _row_length(rows: memoryview) -> int:
    """The body length after the 7-byte header of the first message in `rows`."""
    (length,) = struct.unpack_from("!i", rows, 1)
    return int(length) - 6
