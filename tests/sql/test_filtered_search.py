"""Filtered and hybrid search stay correct on every index kind (issue 12 item 4): with a
filter admitting 1% or 10% of the rows, a search returns k rows with recall@10 >= 0.95
against exact search over the admitted rows, through the engine API, SQL `vector_search(...,
filter := ...)` and `hybrid_search`.

Each namespace forces one index kind (`vector_index`) on two folded segments of 6,000 rows
and keeps 600 rows in the unfolded tail. Two kinds of filter: `bucket` is a random number
0..99 (uncorrelated with the vectors); `band` ranks the rows along a random direction, so
`band < 1` admits the 1% of rows at one edge of the data, far from most queries.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest

from elacsym_sql.config import Settings
from elacsym_sql.sql import Connection
from tests.helpers import open_connection

DIM, SEGMENT, TAIL, QUERIES, K = 16, 6_000, 600, 30, 10
ROWS = 2 * SEGMENT + TAIL
pytestmark = pytest.mark.slow  # three namespaces with indexes to build: ~40 s of CPU
KINDS = ("exact", "hnsw", "clustered")
FILTERS = ("bucket < 1", "bucket < 10", "band < 1", "band < 10")
WORDS = [f"w{i}" for i in range(300)]


def data() -> tuple[pa.Table, np.ndarray, list[str]]:
    rng = np.random.default_rng(21)
    centres = rng.normal(size=(40, DIM))
    vectors = centres[rng.integers(0, 40, ROWS)] + 0.6 * rng.normal(size=(ROWS, DIM))
    queries = centres[rng.integers(0, 40, QUERIES)] + 0.8 * rng.normal(size=(QUERIES, DIM))
    band = np.empty(ROWS, np.int64)
    band[np.argsort(vectors @ rng.normal(size=DIM))] = np.arange(ROWS) * 100 // ROWS
    words = rng.zipf(1.3, (ROWS, 6)) % len(WORDS)
    table = pa.table(
        {
            "id": pa.array(np.arange(ROWS), pa.int64()),
            "bucket": pa.array(rng.integers(0, 100, ROWS), pa.int64()),
            "band": pa.array(band),
            "body": [" ".join(WORDS[w] for w in row) for row in words.tolist()],
            "emb": pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.astype(np.float32).reshape(-1)), DIM
            ),
        }
    )
    texts = [" ".join(WORDS[w] for w in rng.integers(0, 30, 2)) for _ in range(QUERIES)]
    return table, queries.astype(np.float32), texts


def admitted(table: pa.Table, where: str) -> np.ndarray:
    column, _, bound = where.split()
    return table.column(column).to_numpy() < int(bound)


def exact_ids(table: pa.Table, queries: np.ndarray, allowed: np.ndarray) -> list[set[int]]:
    vectors = table.column("emb").combine_chunks().flatten().to_numpy().reshape(-1, DIM)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = queries @ unit.T
    scores[:, ~allowed] = -np.inf
    return [set(row.tolist()) for row in np.argsort(-scores, axis=1)[:, :K]]


@pytest.fixture(scope="module")
def corpus() -> tuple[pa.Table, np.ndarray, list[str]]:
    return data()


@pytest.fixture(scope="module", params=KINDS)
def loaded(request, tmp_path_factory, corpus) -> Iterator[tuple[Connection, str]]:
    """A namespace with the kind's index on two segments, and rows in the tail (built once
    per kind: the tests only read it)."""
    kind = request.param
    table = corpus[0]
    where = tmp_path_factory.mktemp(kind)
    settings = Settings(data=str(where / "data"), cache_dir=str(where / "cache"), indexer=False)
    with contextlib.closing(open_connection(settings)) as con:
        con.execute(
            "CREATE TABLE docs (id BIGINT PRIMARY KEY, bucket BIGINT, band BIGINT, body TEXT, "
            f"emb FLOAT[{DIM}]) WITH (metric = 'cosine', full_text = 'body', "
            f"vector_index = '{kind}')"
        )
        for start, stop in ((0, SEGMENT), (SEGMENT, 2 * SEGMENT), (2 * SEGMENT, ROWS)):
            con.register("incoming", table.slice(start, stop - start))
            con.execute("INSERT INTO docs SELECT * FROM incoming")
            con.unregister("incoming")
            if stop <= 2 * SEGMENT:
                con.database.engine.fold("docs")
        segments = con.database.engine.namespace("docs").snapshot().manifest.segments
        want = {"exact": set(), "hnsw": {"hnsw:emb"}, "clustered": {"ivf:emb"}}[kind]
        assert [{i for i in s.indexes if i.endswith(":emb")} for s in segments] == [want] * 2
        yield con, kind


def recall(found: list[list[int]], want: list[set[int]]) -> float:
    for ids in found:
        assert len(ids) == K
    return sum(len(set(f) & w) for f, w in zip(found, want, strict=True)) / (K * len(want))


@pytest.mark.parametrize("where", FILTERS)
def test_filtered_vector_search_finds_k_rows(loaded, corpus, where) -> None:
    con, kind = loaded
    table, queries, _ = corpus
    allowed = admitted(table, where)
    want = exact_ids(table, queries, allowed)
    column, _, bound = where.split()
    api = con.database.api
    json_filter = {"field": column, "op": "lt", "value": int(bound)}
    by_api = [
        api.vector_search("docs", q, K, filter=json_filter).rows.column("id").to_pylist()
        for q in queries
    ]
    by_sql = [
        [r[0] for r in con.execute(
            f"SELECT id FROM vector_search('docs', ?, {K}, filter := '{where}')", [q.tolist()]
        ).fetchall()]
        for q in queries
    ]  # fmt: skip
    for found in (by_api, by_sql):
        assert all(allowed[i] for ids in found for i in ids), kind
        assert recall(found, want) >= 0.95, (kind, where)


@pytest.mark.parametrize("where", ("bucket < 1", "band < 10"))
def test_filtered_hybrid_search_matches_its_exact_form(loaded, corpus, where) -> None:
    """Hybrid search under a filter returns k admitted rows, the same (recall >= 0.95) as
    the same fusion over exact vector search (recall_target := 1)."""
    con, kind = loaded
    table, queries, texts = corpus
    allowed = admitted(table, where)
    sql = f"SELECT id FROM hybrid_search('docs', ?, ?, {K}, filter := '{where}'"
    found, exact = [], []
    for q, text in zip(queries, texts, strict=True):
        found.append([r[0] for r in con.execute(sql + ")", [q.tolist(), text]).fetchall()])
        exact.append(
            {
                r[0]
                for r in con.execute(sql + ", recall_target := 1)", [q.tolist(), text]).fetchall()
            }
        )
    assert all(allowed[i] for ids in found for i in ids)
    assert recall(found, exact) >= 0.95, (kind, where)
