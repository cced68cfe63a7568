"""Reading a few rows of a segment's Parquet file by ranged reads, without downloading it.

The footer (the last `FOOTER_GUESS` bytes, read again at its real length when longer) names
every column chunk's byte range; the chunks of the row groups holding the wanted rows are
fetched in one round trip (`read`, the same contract as the clustered index's), and pyarrow
decodes each row group from a sparse in-memory image of the file.
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


class Footer:
    """A segment file's footer, parsed once: where each row group starts and where each
    column chunk lies."""

    def __init__(self, size: int, tail: bytes) -> None:
        self.size = size
        self.tail = tail
        # The footer sits at the end of `tail`, where a reader of a whole file looks for it.
        self.meta = pq.ParquetFile(pa.BufferReader(tail)).metadata
        groups = range(self.meta.num_row_groups)
        self.bounds = np.cumsum([0] + [self.meta.row_group(g).num_rows for g in groups])
        schema = self.meta.schema
        # each leaf column's top-level name (a nested column has several leaves)
        self._leaves = [schema.column(c).path.split(".")[0] for c in range(len(schema))]

    @property
    def nbytes(self) -> int:  # the parsed metadata is about as large as its bytes
        return 2 * len(self.tail)

    def groups_of(self, positions: np.ndarray) -> np.ndarray:
        """The row group of each position."""
        return np.searchsorted(self.bounds, positions, side="right") - 1

    def chunk_ranges(self, groups: Sequence[int], columns: list[str]) -> list[tuple[int, int]]:
        """The byte ranges of `columns`' chunks in `groups`."""
        wanted = [c for c, name in enumerate(self._leaves) if name in columns]
        ranges = []
        for g in groups:
            for c in wanted:
                col = self.meta.row_group(g).column(c)
                start = col.data_page_offset
                if col.has_dictionary_page and col.dictionary_page_offset is not None:
                    start = min(start, col.dictionary_page_offset)
                ranges.append((start, col.total_compressed_size))
        return ranges


def fetch_chunks(read: ReadRanges, ranges: list[tuple[int, int]]) -> dict[int, bytes]:
    """The ranges, read in one round trip, keyed by their start."""
    return dict(zip((s for s, _ in ranges), read(ranges), strict=True)) if ranges else {}


def read_row_groups(
    read: ReadRanges,
    foot: Footer,
    groups: Sequence[int],
    columns: list[str],
    fetched: dict[int, bytes] | None = None,
) -> dict[int, pa.Table]:
    """Each of `groups` decoded (`columns` only). `fetched`: chunks read already (by
    `fetch_chunks`); only the others are read, in one round trip."""
    chunks = {**(fetched or {}), foot.size - len(foot.tail): foot.tail}
    missing = [r for r in foot.chunk_ranges(groups, columns) if r[0] not in chunks]
    chunks.update(fetch_chunks(read, missing))
    sparse = pq.ParquetFile(_Sparse(foot.size, chunks), metadata=foot.meta)
    return {g: sparse.read_row_group(g, columns=columns) for g in groups}


def rows_at(foot: Footer, tables: dict[int, pa.Table], positions: np.ndarray) -> pa.Table:
    """The rows at `positions` (any order, repeats allowed, at least one) out of their
    decoded row groups `tables`, in that order."""
    # Taken group by group, then put in order: a take over the groups joined would copy
    # every group whole (a 4,096-row group of 384-d vectors is 6 MB) to return a few rows.
    group_of = foot.groups_of(positions)
    pieces, origin = [], []
    for g in np.unique(group_of).tolist():
        at = np.flatnonzero(group_of == g)
        pieces.append(tables[g].take(pa.array(positions[at] - int(foot.bounds[g]), pa.int64())))
        origin.append(at)
    order = np.empty(len(positions), np.int64)
    order[np.concatenate(origin)] = np.arange(len(positions))
    return pa.concat_tables(pieces).take(pa.array(order, pa.int64()))
