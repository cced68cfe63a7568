"""Where hnswlib's saved index keeps each stored vector and label: the one place this
project reads hnswlib's private file layout (what `Index.save_index` writes).

`HnswIndex` (vector.py) memory-maps the file to reach the stored vectors without copying
them, for exact search over a small allowed set. The layout is hnswlib's internal format,
not an API: a header of fixed-width fields, then level 0, one element of
`size_data_per_element` bytes per vector (its neighbour list, its float32 vector at
`offsetData`, its u64 label at `label_offset`), in internal-id order.

tests/index/test_hnswlib_layout_contract.py checks it against the installed hnswlib;
TESTED_WITH is the version it passed with (a new hnswlib: run it, then update).
"""

from __future__ import annotations

import os
import struct

import numpy as np

from elacsym_sql.errors import CorruptObject

TESTED_WITH = "0.8.0"

# `saveIndex` header: offsetLevel0_, max_elements_, cur_element_count,
# size_data_per_element_, label_offset_, offsetData_ (size_t), maxlevel_ (int),
# enterpoint_node_ (uint32), maxM_, maxM0_, M_ (size_t), mult_ (double), ef_construction_.
HEADER = struct.Struct("<QQQQQQiIQQQdQ")


def header_fields(head: bytes) -> dict[str, int | float]:
    names = ("offset_level0", "max_elements", "count", "size_per_element", "label_offset",
             "data_offset", "max_level", "entry_point", "max_m", "max_m0", "m", "mult",
             "ef_construction")  # fmt: skip
    return dict(zip(names, HEADER.unpack(head[: HEADER.size]), strict=True))


def map_index_file(path: str | os.PathLike[str], dim: int) -> np.memmap:
    """The file's bytes, memory-mapped, once its header is that of an index of `dim`-wide
    vectors in the layout above (CorruptObject otherwise)."""
    nbytes = os.path.getsize(path)
    if nbytes < HEADER.size:
        raise CorruptObject(f"HNSW index file {path} is truncated ({nbytes} bytes)")
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    h = header_fields(bytes(mm[: HEADER.size]))
    ok = (
        h["offset_level0"] == 0
        and h["count"] <= h["max_elements"]
        and h["m"] >= 1
        and h["data_offset"] == h["max_m0"] * 4 + 4  # a u32 count, then max_m0 u32 ids
        and h["size_per_element"] == h["label_offset"] + 8
        and h["label_offset"] >= h["data_offset"]
        and nbytes >= HEADER.size + h["count"] * (h["size_per_element"] + 4)
    )
    if not ok:
        raise CorruptObject(f"HNSW index file {path} has an invalid header")
    file_dim = (h["label_offset"] - h["data_offset"]) // 4
    if file_dim != dim:
        raise CorruptObject(
            f"HNSW index file {path} holds {file_dim}-dimensional vectors, expected {dim}"
        )
    return mm


def stored_vectors(mm: np.memmap, n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """A zero-copy (n, dim) float32 view of the stored vectors (by internal id), and the
    internal id of each label (row position)."""
    h = header_fields(bytes(mm[: HEADER.size]))
    size_el, label_off, data_off = h["size_per_element"], h["label_offset"], h["data_offset"]
    level0 = mm[HEADER.size : HEADER.size + n * size_el].reshape(n, size_el)
    vectors = level0[:, data_off : data_off + 4 * dim].view(np.float32)
    labels = level0[:, label_off : label_off + 8].copy().view("<u8")[:, 0]
    internal = np.full(n, -1, np.int64)
    if n:
        if int(labels.max()) >= n:
            raise CorruptObject("HNSW index labels are not row positions 0..n-1")
        internal[labels.astype(np.int64)] = np.arange(n, dtype=np.int64)
        if (internal < 0).any():
            raise CorruptObject("HNSW index labels are not row positions 0..n-1")
    return vectors, internal
