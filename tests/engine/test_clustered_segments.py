"""Segments with a clustered vector index (decisions 0080, 0081): the planner's choice and
its per-namespace override, recall floors through the recall_target machinery, rows found
right after writes (the unfolded tail supersedes and deletes), filters, exact search, and
rows stored in cluster order."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from elacsym_sql.config import Settings
from elacsym_sql.engine import Engine, EngineApi
from elacsym_sql.engine.index_plan import index_kind
from elacsym_sql.errors import InvalidParameterValue
from elacsym_sql.schema import Column, Options, Schema

DIM, ROWS = 32, 8000


def corpus() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    centres = rng.normal(size=(60, DIM))
    vectors = centres[rng.integers(0, 60, ROWS)] + 0.7 * rng.normal(size=(ROWS, DIM))
    queries = centres[rng.integers(0, 60, 60)] + 0.9 * rng.normal(size=(60, DIM))
    return vectors.astype(np.float32), queries.astype(np.float32)


def truth(vectors: np.ndarray, queries: np.ndarray, live: np.ndarray) -> list[set[int]]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = queries @ unit.T
    scores[:, ~live] = -np.inf
    return [set(row.tolist()) for row in np.argsort(-scores, axis=1)[:, :10]]


def recall(api: EngineApi, queries: np.ndarray, want: list[set[int]], **options: object) -> float:
    found = 0
    for q, w in zip(queries, want, strict=True):
        got = api.vector_search("c", q, 10, **options).rows.column("id").to_pylist()  # type: ignore[arg-type]
        assert len(got) == 10
        found += len(set(got) & w)
    return found / (10 * len(want))


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = Engine(settings.__class__(**{**settings.__dict__, "indexer": False}))
    try:
        yield engine
    finally:
        engine.close()


def _load(engine: Engine, vector_index: str, vectors: np.ndarray) -> EngineApi:
    api = EngineApi(engine)
    options = Options(vector_index=vector_index)
    columns = (Column("id", "BIGINT"), Column("tag", "VARCHAR"), Column("emb", f"FLOAT[{DIM}]"))
    api.create_namespace(Schema("c", columns, "id", options))
    api.upsert(
        "c", [{"id": i, "tag": f"t{i % 10}", "emb": v.tolist()} for i, v in enumerate(vectors)]
    )
    engine.fold("c")
    return api


def test_planner_and_override() -> None:
    assert index_kind(1000, 384, "auto", 2 << 30) == "exact"
    assert index_kind(1000, 384, "clustered", 2 << 30) == "exact"  # small: always exact
    assert index_kind(133_000, 384, "auto", 2 << 30) == "hnsw"
    assert index_kind(133_000, 384, "auto", 256 << 20) == "clustered"
    assert index_kind(133_000, 384, "hnsw", 256 << 20) == "hnsw"
    assert index_kind(50_000, 384, "clustered", 2 << 30) == "clustered"
    with pytest.raises(InvalidParameterValue, match="vector_index"):
        Options.parse({"vector_index": "ivfpq"})
    assert Options.parse({"vector_index": "Clustered"}).vector_index == "clustered"


def test_clustered_segment_recall_and_fresh_writes(engine: Engine) -> None:
    vectors, queries = corpus()
    api = _load(engine, "clustered", vectors)
    (seg,) = engine.namespace("c").snapshot().manifest.segments
    assert set(seg.indexes) == {"ivf:emb"} and seg.ef_recall["ivf:emb"]
    live = np.ones(ROWS, bool)
    want = truth(vectors, queries, live)
    assert recall(api, queries, want) >= 0.95  # the default recall_target, 0.97
    assert recall(api, queries, want, recall_target=1.0) == 1.0  # exact
    assert recall(api, queries, want, exact=True) == 1.0
    # the tail supersedes and deletes rows of the segment: they are gone at once
    nearest = [int(next(iter(sorted(w)))) for w in want[:5]]
    api.delete("c", ids=nearest[:3])
    moved = vectors.copy()
    moved[nearest[3:]] = -moved[nearest[3:]]  # updated far away
    api.upsert("c", [{"id": i, "tag": "moved", "emb": moved[i].tolist()} for i in nearest[3:]])
    live[nearest[:3]] = False
    want = truth(moved, queries, live)
    assert recall(api, queries, want) >= 0.95
    for q in queries[:5]:
        ids = api.vector_search("c", q, 10).rows.column("id").to_pylist()
        assert not set(ids) & set(nearest[:3])
    engine.fold("c")  # the deletes now come from the segment's deletion file
    assert recall(api, queries, want) >= 0.95


def test_rows_returned_whole_and_filters(engine: Engine) -> None:
    vectors, queries = corpus()
    api = _load(engine, "clustered", vectors)
    found = api.vector_search("c", queries[0], 10)
    rows = found.rows.to_pylist()
    for row in rows:
        assert row["tag"] == f"t{row['id'] % 10}"
        np.testing.assert_array_equal(np.array(row["emb"], np.float32), vectors[row["id"]])
    live = np.array([i % 10 == 3 for i in range(ROWS)])
    want = truth(vectors, queries[:20], live)
    assert (
        recall(api, queries[:20], want, filter={"field": "tag", "op": "eq", "value": "t3"}) >= 0.95
    )


def test_auto_keeps_hnsw_for_a_segment_that_fits(engine: Engine) -> None:
    vectors, _ = corpus()
    _load(engine, "auto", vectors)
    (seg,) = engine.namespace("c").snapshot().manifest.segments
    assert set(seg.indexes) == {"hnsw:emb"}


def test_warm_search_reads_nothing_again(engine: Engine) -> None:
    """A process that holds the segment's files (the one that folded it) reranks from its
    mapped copy and keeps decoded code blocks and row groups: a repeated search asks for no
    byte range at all, and finds the same rows."""
    vectors, queries = corpus()
    api = _load(engine, "clustered", vectors)
    reads: list[int] = []
    make = engine.files.reader

    def counted(key: str):  # type: ignore[no-untyped-def]
        read = make(key)

        def each(ranges):  # type: ignore[no-untyped-def]
            reads.append(len(ranges))
            return read(ranges)

        return each

    engine.files.reader = counted  # type: ignore[method-assign]
    first = [api.vector_search("c", q, 10).rows.column("id").to_pylist() for q in queries[:5]]
    assert reads  # the first searches read code blocks and row groups
    reads.clear()
    again = [api.vector_search("c", q, 10).rows.column("id").to_pylist() for q in queries[:5]]
    assert again == first
    assert reads == []


def test_text_search_reads_only_the_rows_it_returns(engine: Engine) -> None:
    """The full-text index names keys; over a clustered segment their rows are read by
    range, not by loading the segment whole (which would hold all its vectors in memory);
    their vectors come from the index (NULL for rows without one)."""
    vectors, _ = corpus()
    api = EngineApi(engine)
    options = Options(full_text=("body",), vector_index="clustered")
    columns = (Column("id", "BIGINT"), Column("body", "VARCHAR"), Column("emb", f"FLOAT[{DIM}]"))
    api.create_namespace(Schema("c", columns, "id", options))
    words = ["apple", "pear", "plum", "fig"]
    body = [f"{words[i % 4]} {'ripe' if i % 7 == 0 else 'green'} n{i}" for i in range(ROWS)]
    no_vector = set(range(2000, 2030))  # stored after every row with a vector
    api.upsert("c", [
        {"id": i, "body": body[i], "emb": None if i in no_vector else v.tolist()}
        for i, v in enumerate(vectors)
    ])  # fmt: skip
    engine.fold("c")
    (seg,) = engine.namespace("c").snapshot().manifest.segments
    found = api.text_search("c", "ripe plum n2002", 10).rows.to_pylist()
    assert found[0]["id"] == 2002  # the only row holding all three words
    found += api.text_search("c", "n2009 n4004 n2023 n7", 10).rows.to_pylist()
    assert {2009, 4004, 2023, 7} <= {row["id"] for row in found}
    for row in found:
        assert row["body"] == body[row["id"]]
        if row["id"] in no_vector:
            assert row["emb"] is None
        else:
            np.testing.assert_array_equal(np.array(row["emb"], np.float32), vectors[row["id"]])
    assert engine.files.memory.peek(("rows", "c", seg.id)) is None


def test_a_clustered_segment_is_recalibrated_on_real_queries(engine: Engine) -> None:
    """The curve of a clustered index, measured again on the namespace's recent queries
    (decision 0094), gives the clusters to probe for a target on those queries: its exact
    search runs over the index's own copy of the vectors, by row position."""
    vectors, queries = corpus()
    api = _load(engine, "clustered", vectors)
    want = truth(vectors, queries, np.ones(ROWS, bool))
    recall(api, queries, want)  # 60 real queries seen
    assert engine.recalibrate("c")
    (seg,) = engine.namespace("c").snapshot().manifest.segments
    curve = seg.ef_recall["ivf:emb"]
    for target in (0.9, 0.95):
        nprobe = next(int(b) for b, r in curve if r >= target)
        got = recall(api, queries, want, recall_target=target)
        assert got >= target and got == recall(api, queries, want, ef=nprobe)
