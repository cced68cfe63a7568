"""vector_search through SQL: exact against numpy, filters, freshness, LATERAL, errors."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from elacsym_sql import errors
from tests.helpers import compact, connection, fold, rows

DIM = 8


def _reference(vectors: np.ndarray, q: np.ndarray, metric: str) -> np.ndarray:
    if metric == "cosine":
        return 1 - vectors @ q / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(q))
    if metric == "l2":
        return np.linalg.norm(vectors - q, axis=1)
    return -(vectors @ q)


def _fill(con, vectors: np.ndarray, start: int = 0) -> None:
    con.executemany(
        "INSERT INTO v VALUES (?, ?, ?, ?)",
        [
            (start + i, f"t{start + i}", float((start + i) % 100), vec.tolist())
            for i, vec in enumerate(vectors)
        ],
    )


@pytest.fixture(params=["cosine", "l2", "dot"])
def metric(request):
    return request.param


@pytest.fixture
def con(make_settings, metric):
    with connection(make_settings) as c:
        c.execute(
            f"CREATE TABLE v (id BIGINT PRIMARY KEY, title TEXT, price DOUBLE, emb FLOAT[{DIM}]) "
            f"WITH (metric = '{metric}')"
        )
        yield c


def test_exact_matches_numpy_across_segments_and_tail(con, metric):
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(600, DIM)).astype(np.float32)
    _fill(con, vectors[:300])
    fold(con, "v")
    _fill(con, vectors[300:500], 300)
    fold(con, "v")
    _fill(con, vectors[500:], 500)  # stays in the WAL tail
    for q in rng.normal(size=(5, DIM)).astype(np.float32):
        want = _reference(vectors, q, metric)
        order = np.lexsort((np.arange(len(want)), want))[:10]
        got = rows(
            con, "SELECT id, _distance FROM vector_search('v', ?, 10, exact := true)", [q.tolist()]
        )
        assert [r[0] for r in got] == order.tolist()
        assert np.allclose([r[1] for r in got], want[order], atol=1e-4)


def test_deleted_and_superseded_rows_are_never_returned(con):
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(100, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)  # self is nearest in every metric
    _fill(con, vectors)
    fold(con, "v")
    q = vectors[5].tolist()
    assert rows(con, "SELECT id FROM vector_search('v', ?, 1)", [q]) == [(5,)]
    con.execute("DELETE FROM v WHERE id = 5")  # fresh: takes effect at once
    assert 5 not in [r[0] for r in rows(con, "SELECT id FROM vector_search('v', ?, 10)", [q])]
    far = (-vectors[7]).tolist()
    con.execute("UPDATE v SET emb = ? WHERE id = 7", [far])
    got = rows(con, "SELECT id, title FROM vector_search('v', ?, 1)", [far])
    assert got == [(7, "t7")]
    con.execute("INSERT INTO v VALUES (1000, 'new', 1, ?)", [q])  # searchable right away
    assert rows(con, "SELECT id FROM vector_search('v', ?, 1)", [q]) == [(1000,)]
    fold(con, "v")
    compact(con, "v")
    assert rows(con, "SELECT id FROM vector_search('v', ?, 1)", [q]) == [(1000,)]


def test_filter_returns_k_rows_at_one_percent(con, metric):
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(2000, DIM)).astype(np.float32)
    _fill(con, vectors)
    fold(con, "v")
    q = rng.normal(size=DIM).astype(np.float32)
    got = rows(
        con, "SELECT id, price FROM vector_search('v', ?, 10, filter := 'price = 42')", [q.tolist()]
    )
    assert len(got) == 10 and all(p == 42 for _, p in got)
    allowed = np.flatnonzero(np.arange(2000) % 100 == 42)
    want = allowed[np.argsort(_reference(vectors[allowed], q, metric), kind="stable")[:10]]
    assert [i for i, _ in got] == want.tolist()


def test_lateral_batch_search_equals_one_by_one(con):
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(300, DIM)).astype(np.float32)
    _fill(con, vectors)
    fold(con, "v")
    con.execute("CREATE TEMP TABLE queries AS SELECT id AS qid, emb AS vec FROM v WHERE id < 20")
    batch = rows(
        con,
        "SELECT q.qid, r.id FROM queries q, LATERAL vector_search('v', q.vec, 3) r "
        "ORDER BY q.qid, r._distance, r.id",
    )
    single = []
    for qid in range(20):
        got = rows(con, "SELECT id FROM vector_search('v', ?, 3)", [vectors[qid].tolist()])
        single += [(qid, i) for (i,) in got]
    assert batch == single


def test_search_joins_filters_and_aggregates_like_a_table(con):
    rng = np.random.default_rng(9)
    _fill(con, rng.normal(size=(50, DIM)).astype(np.float32))
    q = [0.1] * DIM
    got = rows(
        con,
        "SELECT count(*), max(s.price) FROM vector_search('v', ?, 20) s "
        "JOIN v USING (id) WHERE s.price < 30",
        [q],
    )
    assert got[0][0] <= 20 and (got[0][1] is None or got[0][1] < 30)


def test_bad_search_arguments(con):
    con.execute("INSERT INTO v VALUES (1, 'a', 1, ?)", [[0.5] * DIM])
    cases = [
        ("SELECT * FROM vector_search('v', [1, 2], 3)", "22000"),
        (f"SELECT * FROM vector_search('v', {[1.0] * DIM}, 0)", "22023"),
        (f"SELECT * FROM vector_search('v', {[1.0] * DIM}, 3, filter := 'nope > 1')", "42703"),
        (f"SELECT * FROM vector_search('v', {[1.0] * DIM}, 3, filter := 'price >')", "42601"),
        (f"SELECT * FROM vector_search('v', {[1.0] * DIM}, 3, \"column\" := 'title')", "42703"),
        (f"SELECT * FROM vector_search('nope', {[1.0] * DIM}, 3)", "42P01"),
    ]
    for sql, state in cases:
        with pytest.raises(errors.ElacsymError) as info:
            con.execute(sql)
        assert info.value.sqlstate == state, (sql, info.value)


def test_several_vector_columns(make_settings):
    with connection(make_settings) as c:
        c.execute("CREATE TABLE m (id BIGINT PRIMARY KEY, a FLOAT[2], b FLOAT[3])")
        c.execute("INSERT INTO m VALUES (1, [1, 0], [0, 0, 1]), (2, [0, 1], [1, 0, 0])")
        assert rows(c, "SELECT id FROM vector_search('m', [1, 0], 1, \"column\" := 'a')") == [(1,)]
        assert rows(c, "SELECT id FROM vector_search('m', [1, 0, 0], 1, \"column\" := 'b')") == [
            (2,)
        ]
        with pytest.raises(errors.InvalidParameterValue):
            c.execute("SELECT id FROM vector_search('m', [1, 0], 1)")


def test_indexed_segment_recall_and_filters(make_settings):
    rng = np.random.default_rng(11)
    centers = rng.normal(size=(30, 16)).astype(np.float32)
    vectors = (centers[rng.integers(0, 30, 6000)] + 0.3 * rng.normal(size=(6000, 16))).astype(
        np.float32
    )
    with connection(make_settings) as c:
        c.execute("CREATE TABLE big (id BIGINT PRIMARY KEY, tag INTEGER, emb FLOAT[16])")
        c.register("incoming", _arrow(vectors))
        c.execute("INSERT INTO big SELECT * FROM incoming")
        fold(c, "big")
        manifest = c.database.engine.namespace("big").snapshot().manifest
        assert "hnsw:emb" in manifest.segments[0].indexes  # the ANN path is the one tested
        hits = 0
        for q in rng.normal(size=(20, 16)).astype(np.float32):
            ann = rows(c, "SELECT id FROM vector_search('big', ?, 10)", [q.tolist()])
            exact = rows(
                c, "SELECT id FROM vector_search('big', ?, 10, exact := true)", [q.tolist()]
            )
            hits += len({r[0] for r in ann} & {r[0] for r in exact})
        assert hits / 200 >= 0.95
        # recall_target := 1 searches exactly; a bad one is refused with 22023
        q = rng.normal(size=16).tolist()
        exact = rows(c, "SELECT id FROM vector_search('big', ?, 10, exact := true)", [q])
        found = rows(c, "SELECT id FROM vector_search('big', ?, 10, recall_target := 1)", [q])
        assert found == exact
        with pytest.raises(errors.InvalidParameterValue, match="recall_target"):
            c.execute("SELECT id FROM vector_search('big', ?, 10, recall_target := 2)", [q])
        q = vectors[0].tolist()
        got = rows(c, "SELECT id, tag FROM vector_search('big', ?, 10, filter := 'tag = 7')", [q])
        assert len(got) == 10 and all(t == 7 for _, t in got)
        first = rows(c, "SELECT id FROM vector_search('big', ?, 1)", [q])[0][0]
        c.execute("DELETE FROM big WHERE id = ?", [first])
        assert first not in [
            r[0] for r in rows(c, "SELECT id FROM vector_search('big', ?, 10)", [q])
        ]


def _arrow(vectors: np.ndarray) -> pa.Table:
    n, dim = vectors.shape
    return pa.table(
        {
            "id": np.arange(n),
            "tag": (np.arange(n) % 100).astype(np.int32),
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim),
        }
    )


def test_filters_follow_writes_and_the_clock(con):
    rng = np.random.default_rng(11)
    _fill(con, rng.normal(size=(100, DIM)).astype(np.float32))
    q = rng.normal(size=DIM).astype(np.float32).tolist()
    sql = "SELECT id FROM vector_search('v', ?, 100, filter := 'price < 10')"
    assert len(rows(con, sql, [q])) == 10  # prices are id % 100
    con.execute("UPDATE v SET price = 0 WHERE id >= 90")  # a new snapshot: filter again
    assert len(rows(con, sql, [q])) == 20
    # A filter on randomness is evaluated for each search, never reused from a cache.
    coin = "SELECT id FROM vector_search('v', ?, 100, filter := 'random() < 0.5')"
    assert sorted(rows(con, coin, [q])) != sorted(rows(con, coin, [q]))
