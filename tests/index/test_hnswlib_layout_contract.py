"""What elacsym_sql/index/hnswlib_layout.py reads of hnswlib's saved-index file, checked
against the installed hnswlib with indexes it builds itself: a release that moves a field,
reorders elements or stops storing cosine vectors unit length fails here first."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import hnswlib
import numpy as np
import pytest

from elacsym_sql.errors import CorruptObject
from elacsym_sql.index.hnswlib_layout import (
    HEADER,
    TESTED_WITH,
    header_fields,
    map_index_file,
    stored_vectors,
)

N, DIM, M, EF_CONSTRUCTION = 500, 12, 8, 40


def test_the_installed_hnswlib_is_the_one_tested() -> None:
    assert version("hnswlib") == TESTED_WITH, (
        f"hnswlib {version('hnswlib')}: run this file against it, then set TESTED_WITH"
    )


def _saved(tmp_path: Path, space: str, vectors: np.ndarray, labels: np.ndarray) -> Path:
    index = hnswlib.Index(space=space, dim=DIM)
    index.init_index(max_elements=N + 20, M=M, ef_construction=EF_CONSTRUCTION, random_seed=7)
    index.add_items(vectors, labels, num_threads=1)
    path = tmp_path / f"{space}.hnsw"
    index.save_index(str(path))
    return path


@pytest.mark.parametrize("space", ["l2", "ip", "cosine"])
def test_vectors_and_labels_are_where_the_layout_says(tmp_path: Path, space: str) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(N, DIM)).astype(np.float32)
    labels = rng.permutation(N)  # added out of order: internal ids differ from labels
    path = _saved(tmp_path, space, vectors, labels)

    head = header_fields(path.read_bytes()[: HEADER.size])
    assert head["count"] == N
    assert head["max_elements"] == N + 20
    assert head["m"] == M
    assert head["max_m"] == M
    assert head["max_m0"] == 2 * M
    assert head["ef_construction"] == EF_CONSTRUCTION

    mm = map_index_file(path, DIM)
    stored, internal = stored_vectors(mm, N, DIM)
    expected = vectors.copy()
    if space == "cosine":  # hnswlib keeps cosine vectors unit length
        expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    by_label = np.empty_like(expected)
    by_label[labels] = expected
    np.testing.assert_allclose(stored[internal], by_label, rtol=1e-6, atol=1e-6)

    loaded = hnswlib.Index(space=space, dim=DIM)
    loaded.load_index(str(path), max_elements=0)
    some = np.array([0, 17, N - 1])
    np.testing.assert_array_equal(stored[internal[some]], loaded.get_items(some))


def test_a_file_of_other_vectors_is_refused(tmp_path: Path) -> None:
    vectors = np.random.default_rng(4).normal(size=(N, DIM)).astype(np.float32)
    path = _saved(tmp_path, "l2", vectors, np.arange(N))
    with pytest.raises(CorruptObject, match=f"holds {DIM}-dimensional vectors, expected 8"):
        map_index_file(path, 8)
    data = bytearray(path.read_bytes())
    data[5 * 8 : 6 * 8] = (3).to_bytes(8, "little")  # offsetData_ moved
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptObject, match="invalid header"):
        map_index_file(path, DIM)
    path.write_bytes(bytes(data[:40]))
    with pytest.raises(CorruptObject, match="truncated"):
        map_index_file(path, DIM)
