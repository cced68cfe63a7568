"""Vector index: exact search against a numpy reference, HNSW recall, filters, round trips."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import numpy as np
import pytest

from elacsym_sql.errors import CorruptObject, InvalidParameterValue, InvalidVector
from elacsym_sql.index import (
    SMALL_SEGMENT_ROWS,
    HnswIndex,
    build_hnsw,
    build_hnsw_file,
    distances,
    exact_search,
    vector_norms,
)
from elacsym_sql.index import exact as exact_module

METRICS = ("cosine", "l2", "dot")


def reference(vectors, queries, k, metric, allowed=None):
    """Brute force in float64: every distance, ordered by (distance, position)."""
    v = vectors.astype(np.float64)
    q = np.atleast_2d(queries).astype(np.float64)
    if metric == "l2":
        d = np.sqrt(((q[:, None, :] - v[None, :, :]) ** 2).sum(-1))
    elif metric == "dot":
        d = -(q @ v.T)
    else:
        cos = (q @ v.T) / np.linalg.norm(q, axis=1)[:, None] / np.linalg.norm(v, axis=1)[None]
        d = 1.0 - cos
    pos = np.arange(len(v)) if allowed is None else np.flatnonzero(allowed)
    d = d[:, pos]
    order = np.array([np.lexsort((pos, row))[:k] for row in d]).reshape(len(q), -1)
    return pos[order], np.take_along_axis(d, order, axis=1)


def recall(found, truth):
    return np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])


def clustered(rng, n, m, dim, clusters=50):
    """n rows and m queries drawn around the same `clusters` Gaussian centres."""
    centers = rng.standard_normal((clusters, dim)) * 4
    x = centers[rng.integers(0, clusters, n + m)] + rng.standard_normal((n + m, dim))
    x = x.astype(np.float32)
    return x[:n], x[n:]


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(7)


@pytest.fixture(scope="module")
def random_data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20_000, 64)).astype(np.float32)
    q = rng.standard_normal((100, 64)).astype(np.float32)
    return x, q


@pytest.fixture(scope="module")
def clustered_data():
    rng = np.random.default_rng(2)
    return clustered(rng, 20_000, 100, 64)


@pytest.fixture(scope="module")
def indexes(random_data, clustered_data):
    """HNSW indexes per (data set, metric), built once for the module."""
    cache: dict[tuple[str, str], HnswIndex] = {}

    def get(name: str, metric: str) -> HnswIndex:
        if (name, metric) not in cache:
            x = (random_data if name == "random" else clustered_data)[0]
            cache[name, metric] = HnswIndex.load(build_hnsw(x, metric), metric, x.shape[1])
        return cache[name, metric]

    return get


# -- exact search ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS)
def test_exact_equals_numpy_reference(metric, rng):
    x = rng.standard_normal((3_000, 24)).astype(np.float32) * rng.uniform(0.1, 3, (3_000, 1))
    q = rng.standard_normal((40, 24)).astype(np.float32)
    pos, dist = exact_search(x, q, 10, metric)
    ref_pos, ref_dist = reference(x, q, 10, metric)
    assert pos.dtype == np.int64 and dist.dtype == np.float32 and pos.shape == (40, 10)
    np.testing.assert_array_equal(pos, ref_pos)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-6, atol=1e-6)
    # precomputed norms and a single 1-D query give the same answer
    pos2, dist2 = exact_search(x, q[3], 10, metric, norms=vector_norms(x))
    np.testing.assert_array_equal(pos2[0], ref_pos[3])
    np.testing.assert_allclose(dist2[0], ref_dist[3], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("fraction", [0.003, 0.1, 0.6])
def test_exact_with_allowed_equals_reference(metric, fraction, rng):
    x = rng.standard_normal((2_000, 16)).astype(np.float32)
    q = rng.standard_normal((20, 16)).astype(np.float32)
    allowed = rng.random(2_000) < fraction
    pos, dist = exact_search(x, q, 10, metric, allowed)
    ref_pos, ref_dist = reference(x, q, 10, metric, allowed)
    assert pos.shape == (20, min(10, allowed.sum()))
    np.testing.assert_array_equal(pos, ref_pos)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-6, atol=1e-6)


def test_exact_query_blocks_and_ties(monkeypatch, rng):
    monkeypatch.setattr(exact_module, "_BLOCK_CELLS", 1_000)  # many small query blocks
    x = np.repeat(rng.standard_normal((50, 8)).astype(np.float32), 4, axis=0)  # 4 copies each
    q = rng.standard_normal((30, 8)).astype(np.float32)
    for metric in METRICS:
        pos, _ = exact_search(x, q, 12, metric)
        np.testing.assert_array_equal(pos, reference(x, q, 12, metric)[0])  # ties by position


def test_exact_small_and_empty_cases(rng):
    x = rng.standard_normal((5, 4)).astype(np.float32)
    q = rng.standard_normal((2, 4)).astype(np.float32)
    pos, dist = exact_search(x, q, 10, "l2")  # k > n: all rows
    assert pos.shape == dist.shape == (2, 5)
    pos, dist = exact_search(x, q, 3, "l2", np.zeros(5, bool))
    assert pos.shape == dist.shape == (2, 0)
    pos, _ = exact_search(np.empty((0, 4), np.float32), q, 3, "cosine")
    assert pos.shape == (2, 0)


# -- distance conventions -----------------------------------------------------------------

# q = (1, 0) against v = (0, 1), (1, 1), (2, 0), (-1, 0), (0, 0)
HAND = {
    "cosine": [1.0, 1.0 - 1.0 / np.sqrt(2.0), 0.0, 2.0, 1.0],  # zero vector: cos = 0
    "l2": [np.sqrt(2.0), 1.0, 1.0, 2.0, 1.0],
    "dot": [0.0, -1.0, -2.0, 1.0, 0.0],
}


@pytest.mark.parametrize("metric", METRICS)
def test_distance_conventions_by_hand(metric):
    v = np.array([[0, 1], [1, 1], [2, 0], [-1, 0], [0, 0]], np.float32)
    q = np.array([1, 0], np.float32)
    want = np.array(HAND[metric])
    np.testing.assert_allclose(distances(v, q, metric), want, atol=1e-12)
    pos, dist = exact_search(v, q, 5, metric)
    np.testing.assert_allclose(dist[0], want[pos[0]], atol=1e-6)
    assert list(dist[0]) == sorted(dist[0])
    index = HnswIndex.load(build_hnsw(v, metric), metric, 2)
    hpos, hdist = index.search(q, 5, ef=10, exact=False)
    np.testing.assert_allclose(hdist[0], want[hpos[0]], atol=1e-6)
    assert sorted(hpos[0]) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("metric", METRICS)
def test_hnsw_and_exact_distances_agree(metric, indexes, clustered_data):
    x, q = clustered_data
    pos, dist = indexes("clustered", metric).search(q, 10, ef=64)
    want = distances(x[pos], q[:, None, :], metric)
    np.testing.assert_allclose(dist, want, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(want).max()))
    epos, edist = exact_search(x, q, 10, metric)
    same = pos == epos
    np.testing.assert_allclose(dist[same], edist[same], rtol=1e-5, atol=1e-4)


# -- HNSW recall ----------------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS)
def test_hnsw_recall_clustered(metric, indexes, clustered_data):
    x, q = clustered_data
    truth, _ = exact_search(x, q, 10, metric)
    pos, _ = indexes("clustered", metric).search(q, 10, ef=64)
    assert recall(pos, truth) >= 0.95


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_hnsw_recall_random(metric, indexes, random_data):
    # Isotropic 64-d Gaussian data is the hard case for a graph: ef=64 gives ~0.75-0.8 here,
    # ef=400 ~0.99.
    x, q = random_data
    truth, _ = exact_search(x, q, 10, metric)
    pos, _ = indexes("random", metric).search(q, 10, ef=400)
    assert recall(pos, truth) >= 0.95


def test_hnsw_batch_equals_one_at_a_time(indexes, clustered_data):
    _, q = clustered_data
    index = indexes("clustered", "cosine")
    batch = index.search(q[:20], 10, ef=64)
    for i in range(20):
        single = index.search(q[i], 10, ef=64)
        np.testing.assert_array_equal(single[0][0], batch[0][i])
        np.testing.assert_array_equal(single[1][0], batch[1][i])


# -- serialization --------------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS)
def test_round_trip_bytes_and_file(metric, rng, tmp_path):
    x, q = clustered(rng, 3_000, 20, 16)
    data = build_hnsw(x, metric, num_threads=1)
    assert isinstance(data, bytes)
    a = HnswIndex.load(data, metric, 16)
    b = HnswIndex.load(bytearray(data), metric, 16)
    (tmp_path / "x.hnsw").write_bytes(data)
    c = HnswIndex.load(tmp_path / "x.hnsw", metric, 16)
    size = build_hnsw_file(x, metric, tmp_path / "y.hnsw", num_threads=1)
    d = HnswIndex.load(str(tmp_path / "y.hnsw"), metric, 16)
    assert size == len(data) == d.nbytes and len(a) == 3_000
    ra = a.search(q, 10, ef=50)
    for other in (b, c, d):
        rb = other.search(q, 10, ef=50)
        np.testing.assert_array_equal(ra[0], rb[0])
        np.testing.assert_array_equal(ra[1], rb[1])
    stored = a.get_vectors(np.array([5, 0, 2999]))
    want = x[[5, 0, 2999]]
    if metric == "cosine":
        want = want / np.linalg.norm(want, axis=1, keepdims=True)
    np.testing.assert_allclose(stored, want, rtol=1e-6, atol=1e-7)
    a.close()


def test_empty_index():
    index = HnswIndex.load(build_hnsw(np.empty((0, 8), np.float32), "l2"), "l2", 8)
    pos, dist = index.search(np.ones(8, np.float32), 5)
    assert len(index) == 0 and pos.shape == dist.shape == (1, 0)


def test_corrupt_or_mismatched_file(rng):
    x = rng.standard_normal((200, 8)).astype(np.float32)
    data = build_hnsw(x, "l2")
    with pytest.raises(CorruptObject):
        HnswIndex.load(data[: len(data) // 2], "l2", 8)
    with pytest.raises(CorruptObject):
        HnswIndex.load(data[:50], "l2", 8)
    with pytest.raises(CorruptObject):
        HnswIndex.load(b"\x07" * 4_000, "l2", 8)
    with pytest.raises(CorruptObject, match="8-dimensional"):
        HnswIndex.load(data, "l2", 16)


# -- filtered search ------------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("exact", [None, False])
def test_filtered_one_percent(metric, exact, indexes, clustered_data, rng):
    x, q = clustered_data
    allowed = rng.random(len(x)) < 0.01
    truth, _ = exact_search(x, q, 10, metric, allowed)
    pos, dist = indexes("clustered", metric).search(q, 10, ef=64, allowed=allowed, exact=exact)
    assert pos.shape == dist.shape == (len(q), 10)
    assert allowed[pos].all()
    assert (np.diff(dist, axis=1) >= -1e-6).all()
    if exact is None:  # 200 allowed rows: the exact fallback
        np.testing.assert_array_equal(pos, truth)
    elif metric != "dot":  # the graph with a filter callback; inner product is documented weaker
        assert recall(pos, truth) >= 0.95


@pytest.mark.parametrize("fraction", [0.5, 0.2])
def test_filtered_graph_selectivities(fraction, indexes, clustered_data, rng):
    x, q = clustered_data
    allowed = rng.random(len(x)) < fraction
    truth, _ = exact_search(x, q, 10, "l2", allowed)
    pos, _ = indexes("clustered", "l2").search(q, 10, ef=64, allowed=allowed)
    assert pos.shape == (len(q), 10) and allowed[pos].all()
    assert recall(pos, truth) >= 0.95


@pytest.mark.parametrize("exact", [None, False, True])
def test_fewer_allowed_rows_than_k(exact, indexes, clustered_data):
    x, q = clustered_data
    allowed = np.zeros(len(x), bool)
    allowed[[3, 1_000, 19_999]] = True
    pos, dist = indexes("clustered", "cosine").search(q, 10, allowed=allowed, exact=exact)
    assert pos.shape == dist.shape == (len(q), 3)
    assert all(sorted(row) == [3, 1_000, 19_999] for row in pos.tolist())
    none = indexes("clustered", "cosine").search(q, 10, allowed=np.zeros(len(x), bool))
    assert none[0].shape == (len(q), 0)


def test_all_allowed_is_unfiltered(indexes, clustered_data):
    x, q = clustered_data
    index = indexes("clustered", "cosine")
    a = index.search(q, 10, ef=64)
    b = index.search(q, 10, ef=64, allowed=np.ones(len(x), bool))
    np.testing.assert_array_equal(a[0], b[0])


def test_k_larger_than_index(rng):
    x = rng.standard_normal((30, 8)).astype(np.float32)
    index = HnswIndex.load(build_hnsw(x, "l2"), "l2", 8)
    pos, _ = index.search(x[:2], 50)
    assert pos.shape == (2, 30) and all(sorted(r) == list(range(30)) for r in pos.tolist())


def test_graph_shortfall_is_topped_up_exactly(indexes, clustered_data, rng):
    """If hnswlib cannot fill k rows for a query, that query gets the exact answer."""
    x, q = clustered_data
    index = indexes("clustered", "l2")
    allowed = rng.random(len(x)) < 0.3
    real = index._index

    class Short:  # every filtered graph search "finds fewer than k"
        def knn_query(self, data, k, num_threads=-1, filter=None):
            if filter is not None:
                raise RuntimeError("Cannot return the results in a contiguous 2D array.")
            return real.knn_query(data, k, num_threads=num_threads)

        def set_ef(self, ef):
            real.set_ef(ef)

    index._index = Short()
    try:
        pos, _ = index.search(q[:5], 10, allowed=allowed, exact=False)
    finally:
        index._index = real
    np.testing.assert_array_equal(pos, exact_search(x, q[:5], 10, "l2", allowed)[0])


def test_exact_flag_on_index_equals_exact_search(indexes, clustered_data):
    x, q = clustered_data
    pos, dist = indexes("clustered", "dot").search(q[:10], 10, exact=True)
    ref_pos, ref_dist = exact_search(x, q[:10], 10, "dot")
    np.testing.assert_array_equal(pos, ref_pos)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-6, atol=1e-5)


# -- concurrency, errors, layering ----------------------------------------------------------


def test_concurrent_searches_with_mixed_ef(indexes, clustered_data):
    x, q = clustered_data
    index = indexes("clustered", "cosine")
    allowed = np.random.default_rng(3).random(len(x)) < 0.5
    want = {
        (ef, f): index.search(q, 10, ef=ef, allowed=allowed if f else None)[0]
        for ef in (16, 64, 200)
        for f in (False, True)
    }
    errors: list[object] = []

    def worker(seed: int) -> None:
        r = np.random.default_rng(seed)
        for _ in range(150):
            i, ef, f = int(r.integers(len(q))), int(r.choice([16, 64, 200])), bool(r.integers(2))
            got = index.search(q[i], 10, ef=ef, allowed=allowed if f else None)[0][0]
            if not np.array_equal(got, want[ef, f][i]):
                errors.append((i, ef, f))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_errors(indexes, clustered_data):
    x, q = clustered_data
    index = indexes("clustered", "l2")
    with pytest.raises(InvalidVector, match="expected 64"):
        index.search(np.ones(3, np.float32), 10)
    with pytest.raises(InvalidVector, match="NaN"):
        index.search(np.full(64, np.nan, np.float32), 10)
    for bad_k in (0, -1, 2.5, True):
        with pytest.raises(InvalidParameterValue):
            index.search(q[0], bad_k)
    with pytest.raises(InvalidParameterValue):
        index.search(q[0], 10, ef=0)
    with pytest.raises(InvalidParameterValue):
        index.search(q[0], 10, allowed=np.ones(5, bool))
    with pytest.raises(InvalidParameterValue):
        index.search(q[0], 10, allowed=np.ones(len(x), np.int8))
    with pytest.raises(InvalidParameterValue, match="metric"):
        exact_search(x, q, 10, "hamming")
    with pytest.raises(InvalidParameterValue, match="metric"):
        build_hnsw(x, "manhattan")
    with pytest.raises(InvalidVector):
        build_hnsw(np.array([[1.0, np.inf]], np.float32), "l2")
    assert isinstance(InvalidVector("x").sqlstate, str)


def test_small_segment_threshold_is_sane():
    assert 1_000 <= SMALL_SEGMENT_ROWS <= 20_000


def test_index_layer_imports_only_errors_and_schema():
    """The index layer may import `elacsym_sql.errors`, `elacsym_sql.schema`, `elacsym_sql.host`
    (the cores it may use) and itself."""
    package = Path(exact_module.__file__).resolve().parent
    allowed = ("elacsym_sql.errors", "elacsym_sql.schema", "elacsym_sql.host", "elacsym_sql.index")
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = ["elacsym_sql", "index"]
                prefix = base[: len(base) - node.level + 1] if node.level else []
                names = [".".join([*prefix, node.module or ""]).strip(".")]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name == "elacsym_sql" or name.startswith("elacsym_sql."):
                    assert name.startswith(allowed), f"{source.name} imports {name}"
