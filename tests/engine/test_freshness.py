"""Fresh writes: every acknowledged row is found by vector and text search right away, through
every stage of a fold and of a compaction (tail only; new segment written but not committed;
committed; merged), and the text index of this process includes a write once it returns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from elacsym_sql.config import Settings
from elacsym_sql.engine import Engine, EngineApi
from elacsym_sql.index import SMALL_SEGMENT_ROWS
from elacsym_sql.schema import Column, Options, Schema
from elacsym_sql.segment.files import read_rows

DIM = 16


@pytest.fixture(params=["local"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


class Writer:
    """Writes batches of rows with distinct vectors and words, and checks they are found."""

    def __init__(self, api: EngineApi) -> None:
        self.api = api
        self.rng = np.random.default_rng(3)
        self.vectors: dict[int, np.ndarray] = {}
        self.stages: list[str] = []

    def write(self, count: int) -> list[int]:
        start = len(self.vectors)
        ids = list(range(start, start + count))
        vectors = self.rng.normal(size=(count, DIM)).astype(np.float32)
        self.api.upsert(
            "f",
            [
                {"id": i, "body": f"{word(i)} common", "v": v.tolist()}
                for i, v in zip(ids, vectors, strict=True)
            ],
        )
        self.vectors.update(zip(ids, vectors, strict=True))
        return ids

    def write_and_check(self, stage: str) -> None:
        """Write a batch, then search for it and for a sample of every earlier row."""
        fresh = self.write(5)
        earlier = self.rng.choice(len(self.vectors) - 5, size=20, replace=False).tolist()
        for i in fresh + earlier:
            found = self.api.vector_search("f", self.vectors[i], 10).rows.column("id")
            assert i in found.to_pylist(), f"{stage}: row {i} not found by its vector"
            texts = self.api.text_search("f", word(i), 10).rows.column("id").to_pylist()
            assert texts == [i], f"{stage}: row {i} not found by its word"
        self.stages.append(stage)


def word(i: int) -> str:
    return "k" + "".join(chr(ord("a") + int(d)) for d in f"{i:06d}") + "q"


@pytest.fixture
def writer(settings: Settings) -> Iterator[Writer]:
    engine = Engine(Settings(**{**settings.__dict__, "indexer": False}))
    api = EngineApi(engine)
    columns = (Column("id", "BIGINT"), Column("body", "VARCHAR"), Column("v", f"FLOAT[{DIM}]"))
    api.create_namespace(Schema("f", columns, "id", Options(full_text=("body",))))
    try:
        yield Writer(api)
    finally:
        engine.close()


def hooked(monkeypatch: pytest.MonkeyPatch, obj: Any, name: str, after: Callable[[], None]):
    """Run `after()` each time `obj.name(...)` returns."""
    original = getattr(obj, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        after()
        return out

    monkeypatch.setattr(obj, name, wrapper)


def test_rows_are_found_right_after_acknowledgement_through_fold_and_compaction(
    writer: Writer, monkeypatch: pytest.MonkeyPatch
):
    engine = writer.api.engine
    writer.write(SMALL_SEGMENT_ROWS)  # enough for the fold's segment to get an HNSW index
    writer.write_and_check("in the WAL tail")
    stage = ["fold"]
    hooked(monkeypatch, engine.files, "write", lambda: writer.write_and_check(
        f"{stage[0]}: segment written, not committed"))  # fmt: skip
    hooked(monkeypatch, engine.manifests, "commit", lambda: writer.write_and_check(
        f"{stage[0]}: committed"))  # fmt: skip
    assert engine.fold("f")
    [segment] = engine.namespace("f").snapshot().manifest.segments
    assert "hnsw:v" in segment.indexes
    writer.write_and_check("folded, rows written meanwhile in the tail")
    stage[0] = "second fold"
    assert engine.fold("f")
    stage[0] = "compaction"
    assert engine.compact("f", force=True)
    writer.write_and_check("compacted")
    assert writer.stages == [
        "in the WAL tail",
        "fold: segment written, not committed",
        "fold: committed",
        "folded, rows written meanwhile in the tail",
        "second fold: segment written, not committed",
        "second fold: committed",
        "compaction: segment written, not committed",
        "compaction: committed",
        "compacted",
    ]


def test_a_write_is_in_the_live_text_index_when_it_returns(writer: Writer):
    api = writer.api
    live = api.engine.full_text
    for _ in range(2):  # the first builds the live index, the second adds to it
        [i] = writer.write(1)
        # The write applied itself: the live index holds its WAL record before any search.
        assert live.applied("f") == api.engine.namespace("f").snapshot().tail_seq
    assert [
        h.key for h in live.searcher(api.engine.namespace("f").snapshot()).search(word(i), 10)
    ] == [i]


def test_the_first_search_after_a_fold_reads_no_file(writer: Writer):
    """The fold keeps the rows it wrote in the memory cache, as a read of the new segment's
    file would give them: the first search after the commit reads nothing."""
    engine = writer.api.engine
    ids = writer.write(SMALL_SEGMENT_ROWS)
    assert engine.fold("f")
    [segment] = engine.namespace("f").snapshot().manifest.segments
    schema = engine.namespace("f").snapshot().manifest.schema
    kept = engine.files.memory.peek(("rows", "f", segment.id))
    assert kept is not None
    read = read_rows(engine.files.path("f", segment), schema.arrow_schema)
    assert kept.schema == read.schema and kept.equals(read.combine_chunks())
    found = writer.api.vector_search("f", writer.vectors[ids[7]], 1).rows.column("id")
    assert found.to_pylist() == [ids[7]]
