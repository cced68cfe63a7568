"""Reading a few rows of a segment's Parquet file by ranged reads, without downloading it.

The footer (the last `FOOTER_GUESS` bytes, read again at its real length when longer) names
every column chunk's byte range; the chunks of the row groups holding the wanted rows are
fetched in one round trip (`read`, the same contract as the clustered index's), and pyarrow
decodes them from a sparse in-memory image of the file.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ReadRanges = Callable[[Sequence[tuple[int, int]]], list[bytes]]

FOOTER_GUESS = 32 << 10


class _Sparse(io.RawIOBase):
    """A read-only file of `size` bytes of which only some ranges are known."""

    def __init__(self, size: int, chunks: dict[int, bytes]) -> None:
        self._size = size
        self._chunks = chunks
        self._at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self._at = {0: offset, 1: self._at + offset, 2: self._size + offset}[whence]
        return self._at

    def tell(self) -> int:
        return self._at

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        want = min(len(buffer), self._size - self._at)
        done = 0
        while done < want:  # a read may span adjacent fetched chunks (pyarrow coalesces)
            at = self._at + done
            for start, data in self._chunks.items():
                if start <= at < start + len(data):
                    n = min(want - done, start + len(data) - at)
                    buffer[done : done + n] = data[at - start : at - start + n]
                    done += n
                    break
            else:
                raise OSError(f"bytes {at}+{want - done} of the segment were not fetched")
        self._at += want
        return want


def footer(read: ReadRanges, size: int) -> bytes:
    """The file's tail holding its whole footer (metadata, its length, the magic)."""
    guess = min(size, FOOTER_GUESS)
    (tail,) = read([(size - guess, guess)])
    (meta_len,) = struct.unpack("<I", tail[-8:-4])
    if meta_len + 8 > len(tail):
        (tail,) = read([(size - meta_len - 8, meta_len + 8)])
    return bytes(tail)


def _metadata(size: int, tail: bytes) -> pq.FileMetaData:
    # The footer sits at the end of `tail`, where a reader of a whole file looks for it.
    return pq.ParquetFile(pa.BufferReader(tail)).metadata


def _groups(meta: pq.FileMetaData, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row group's first row (and the end), and the group of each position."""
    bounds = np.cumsum([0] + [meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
    return bounds, np.searchsorted(bounds, positions, side="right") - 1


def chunk_ranges(
    size: int, tail: bytes, positions: np.ndarray, columns: list[str]
) -> list[tuple[int, int]]:
    """The byte ranges of `columns`' chunks in the row groups holding `positions`."""
    meta = _metadata(size, tail)
    _, group_of = _groups(meta, positions)
    names = [meta.schema.column(c).path.split(".")[0] for c in range(meta.num_columns)]
    wanted = [c for c, name in enumerate(names) if name in columns]
    ranges = []
    for g in sorted(set(group_of.tolist())):
        for c in wanted:
            col = meta.row_group(g).column(c)
            start = col.data_page_offset
            if col.has_dictionary_page and col.dictionary_page_offset is not None:
                start = min(start, col.dictionary_page_offset)
            ranges.append((start, col.total_compressed_size))
    return ranges


def fetch_chunks(read: ReadRanges, ranges: list[tuple[int, int]]) -> dict[int, bytes]:
    """The ranges, read in one round trip, keyed by their start."""
    return dict(zip((s for s, _ in ranges), read(ranges), strict=True)) if ranges else {}


def read_rows_at(
    read: ReadRanges,
    size: int,
    tail: bytes,
    positions: np.ndarray,
    columns: list[str],
    fetched: dict[int, bytes] | None = None,
) -> pa.Table:
    """The rows at `positions` (any order, repeats allowed), of `columns`, in that order.
    `fetched`: chunks read already (by `fetch_chunks`); only the others are read."""
    chunks = {**(fetched or {}), size - len(tail): tail}
    missing = [r for r in chunk_ranges(size, tail, positions, columns) if r[0] not in chunks]
    chunks.update(fetch_chunks(read, missing))
    meta = _metadata(size, tail)
    bounds, group_of = _groups(meta, positions)
    groups = sorted(set(group_of.tolist()))
    sparse = pq.ParquetFile(_Sparse(size, chunks), metadata=meta)
    table = sparse.read_row_groups(groups, columns=columns)
    offsets = np.cumsum([0] + [int(bounds[g + 1] - bounds[g]) for g in groups])
    base = {g: int(offsets[i]) - int(bounds[g]) for i, g in enumerate(groups)}
    local = [base[g] + p for g, p in zip(group_of.tolist(), positions.tolist(), strict=True)]
    return table.take(pa.array(local, pa.int64()))
