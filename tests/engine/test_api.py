"""The engine API (engine/api.py) without DuckDB: namespaces, writes, filtered searches,
one message and SQLSTATE per mistake, over a local directory and S3 (moto)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import numpy as np
import pytest

from elacsym_sql.config import Settings
from elacsym_sql.engine import Engine, EngineApi, Recall
from elacsym_sql.errors import (
    DatatypeMismatch,
    DuplicateTable,
    InvalidParameterValue,
    InvalidVector,
    NotSupportedError,
    UndefinedColumn,
    UndefinedTable,
    UniqueViolation,
)
from elacsym_sql.schema import Column, Options, Schema


def docs_schema(name: str = "docs") -> Schema:
    return Schema(
        name,
        (
            Column("id", "BIGINT"),
            Column("title", "VARCHAR"),
            Column("year", "BIGINT"),
            Column("price", "DOUBLE"),
            Column("tags", "VARCHAR[]"),
            Column("vector", "FLOAT[3]"),
        ),
        "id",
        Options(metric="cosine", full_text=("title",)),
    )


DOCS = [
    {"id": 1, "title": "object storage engines", "year": 2019, "price": 1.5,
     "tags": ["db", "s3"], "vector": [1.0, 0.0, 0.0]},
    {"id": 2, "title": "the beginning of search", "year": 2021, "price": None,
     "tags": ["search"], "vector": [0.0, 1.0, 0.0]},
    {"id": 3, "title": "hybrid storage and search", "year": 2023, "price": 20,
     "tags": None, "vector": [0.7, 0.7, 0.0]},
    {"id": 4, "title": "storage without vectors", "year": 2024, "tags": ["s3"], "vector": None},
]  # fmt: skip


@pytest.fixture
def api(settings: Settings) -> Iterator[EngineApi]:
    engine = Engine(settings)
    api = EngineApi(engine)
    api.create_namespace(docs_schema())
    api.upsert("docs", DOCS)
    try:
        yield api
    finally:
        engine.close()


def ids(result) -> list[int]:
    return result.rows.column("id").to_pylist()


def test_the_engine_api_never_loads_duckdb(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from elacsym_sql.config import Settings
        from elacsym_sql.engine import Engine, EngineApi
        from tests.engine.test_api import DOCS, docs_schema
        engine = Engine(Settings(data={str(tmp_path / "d")!r}, cache_dir={str(tmp_path / "c")!r},
                                 indexer=False))
        api = EngineApi(engine)
        api.create_namespace(docs_schema())
        api.upsert("docs", DOCS)
        filt = {{"field": "year", "op": "gte", "value": 2020}}
        print(api.vector_search("docs", [1, 0, 0], 2, filter=filt).rows.column("id"))
        print(api.hybrid_search("docs", [1, 0, 0], "storage", 2).rows.column("id"))
        api.delete("docs", filter=filt)
        api.compact("docs")
        print(api.stats("docs")["rows"], "duckdb" in sys.modules)
        engine.close()
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd="."
    ).stdout
    assert out.strip().endswith("1 False"), out


def test_namespaces_create_list_describe_drop(api):
    assert api.list_namespaces() == ["docs"]
    api.create_namespace(docs_schema("more"))
    assert api.list_namespaces() == ["docs", "more"]
    assert api.list_namespaces(after="docs") == ["more"]
    assert api.list_namespaces(limit=1) == ["docs"]
    assert api.create_namespace(docs_schema("more"), if_not_exists=True) is False
    with pytest.raises(DuplicateTable):
        api.create_namespace(docs_schema("more"))
    with pytest.raises(DuplicateTable) as caught:
        api.create_namespace(docs_schema("More"))
    assert "only in case" in (caught.value.hint or "")
    described = api.describe("docs")
    assert described.schema.column("vector").dim == 3
    assert described.stats["rows"] == 4
    assert api.drop_namespace("more") is True
    assert api.list_namespaces() == ["docs"]
    with pytest.raises(UndefinedTable):
        api.drop_namespace("more")
    assert api.drop_namespace("more", if_exists=True) is False
    with pytest.raises(UndefinedTable):
        api.describe("more")


def test_filtered_vector_search_returns_k_qualifying_rows(api):
    found = api.vector_search("docs", [1.0, 0.0, 0.0], 10)
    assert ids(found) == [1, 3, 2]  # the row without a vector is not a candidate
    assert found.rows.column("_distance").to_pylist()[0] == pytest.approx(0.0, abs=1e-6)
    newer = {"field": "year", "op": "gte", "value": 2020}
    assert ids(api.vector_search("docs", [1.0, 0.0, 0.0], 2, filter=newer)) == [3, 2]
    either = {
        "type": "or",
        "conditions": [
            {"field": "tags", "op": "contains", "value": "db"},
            {"type": "and", "conditions": [{"field": "price", "op": "gt", "value": 10}]},
        ],
    }
    assert ids(api.vector_search("docs", [1.0, 0.0, 0.0], 5, filter=either)) == [1, 3]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "year", "op": "eq", "value": 2021}, [2]),
        ({"field": "year", "op": "ne", "value": 2021}, [1, 3, 4]),
        ({"field": "price", "op": "lte", "value": 20}, [1, 3]),
        ({"field": "price", "op": "lt", "value": 20.5}, [1, 3]),
        ({"field": "price", "op": "ne", "value": 1.5}, [2, 3, 4]),  # NULL matches ne
        ({"field": "price", "op": "eq", "value": None}, [2, 4]),
        ({"field": "title", "op": "contains", "value": "search"}, [2, 3]),
        ({"field": "title", "op": "gt", "value": "storage"}, [2, 4]),
        ({"field": "tags", "op": "containsany", "value": ["search", "s3"]}, [1, 2, 4]),
        ({"field": "tags", "op": "contains_any", "value": ["nothing"]}, []),
        ({"field": "tags", "op": "eq", "value": ["s3"]}, [4]),
    ],
)
def test_filter_ops(api, condition, expected):
    found = api.text_search("docs", "storage search beginning", 10, filter=condition)
    assert sorted(ids(found)) == expected


@pytest.mark.parametrize(
    ("condition", "error", "words"),
    [
        ({"field": "nope", "op": "eq", "value": 1}, UndefinedColumn, 'attribute "nope"'),
        ({"field": "year", "op": "eq", "value": "2020"}, DatatypeMismatch, "must be a number"),
        ({"field": "year", "op": "like", "value": 1}, DatatypeMismatch, "filter.op"),
        ({"field": "year", "op": "contains", "value": 1}, DatatypeMismatch, "contains"),
        ({"field": "vector", "op": "eq", "value": 1}, DatatypeMismatch, "cannot be filtered"),
        ({"type": "xor", "conditions": []}, DatatypeMismatch, "filter.type"),
        ({"type": "and", "conditions": [{"op": "eq"}]}, DatatypeMismatch, "conditions[0].field"),
    ],
)
def test_filter_mistakes(api, condition, error, words):
    with pytest.raises(error, match=None) as caught:
        api.vector_search("docs", [1, 0, 0], 3, filter=condition)
    assert words in caught.value.message


def test_text_and_hybrid_search(api):
    text = api.text_search("docs", "storage", 10)
    assert sorted(ids(text)) == [1, 3, 4]
    assert "_score" in text.rows.column_names
    weighted = api.text_search("docs", "storage", 10, columns="title^2")
    assert sorted(ids(weighted)) == [1, 3, 4]
    hybrid = api.hybrid_search("docs", [0.7, 0.7, 0.0], "hybrid storage", 2)
    assert ids(hybrid)[0] == 3  # first in both branches
    top = hybrid.rows.to_pylist()[0]
    assert (top["_vector_rank"], top["_text_rank"]) == (1, 1)
    assert top["_score"] == pytest.approx(2 / 61)
    filtered = api.hybrid_search(
        "docs", [1, 0, 0], "storage", 5, filter={"field": "year", "op": "gte", "value": 2022}
    )
    assert sorted(ids(filtered)) == [3, 4]


def test_search_argument_mistakes(api):
    for bad in (0, -1, 10_001, 2.5, True, None):
        with pytest.raises(InvalidParameterValue, match="k must be an integer from 1 to 10000"):
            api.vector_search("docs", [1, 0, 0], bad)
    with pytest.raises(InvalidVector, match="expected 3 dimensions, not 2"):
        api.vector_search("docs", [1, 0], 3)
    with pytest.raises(InvalidVector, match="NaN or infinity"):
        api.vector_search("docs", [float("nan"), 0, 0], 3)
    with pytest.raises(DatatypeMismatch, match="list of numbers"):
        api.vector_search("docs", ["1", 0, 0], 3)
    with pytest.raises(UndefinedTable):
        api.vector_search("nope", [1, 0, 0], 3)
    with pytest.raises(InvalidParameterValue, match="non-empty"):
        api.text_search("docs", "  ", 3)


def test_upsert_validates_the_whole_batch_first(api):
    before = api.stats("docs")["wal_records"]
    bad_batches = [
        ([{"id": 9, "vector": [1, 2]}], InvalidVector, "expected 3 dimensions, not 2"),
        ([{"id": 9, "year": "2020"}], DatatypeMismatch, 'document 9: attribute "year"'),
        ([{"id": 9, "tags": "s3"}], DatatypeMismatch, "must be a list of strings"),
        ([{"id": 9, "colour": "red"}], UndefinedColumn, 'attribute "colour"'),
        ([{"id": 9}, {"id": 9}], UniqueViolation, "duplicate key"),
        ([{"id": 8}, {"id": 9, "vector": [0, float("inf"), 0]}], InvalidVector, "NaN"),
    ]
    for batch, error, words in bad_batches:
        with pytest.raises(error) as caught:
            api.upsert("docs", batch)
        assert words in caught.value.message
    assert api.stats("docs")["wal_records"] == before  # nothing written
    assert api.upsert("docs", [{"id": 9, "price": 3}]) == 1  # an integer fits a float


def test_upsert_replaces_whole_rows_and_if_absent_keeps_them(api):
    api.upsert("docs", [{"id": 1, "title": "replaced"}])
    row = api.text_search("docs", "replaced", 1).rows.to_pylist()[0]
    assert row["year"] is None and row["vector"] is None
    assert api.upsert("docs", [{"id": 1, "title": "not this"}, {"id": 5}], if_absent=True) == 1
    assert sorted(ids(api.text_search("docs", "replaced", 5))) == [1]
    assert api.stats("docs")["rows"] == 5


def test_patch_and_delete(api):
    assert api.patch("docs", {"year": 1999}, ids=[1, 2, 77]) == 2
    old = {"field": "year", "op": "eq", "value": 1999}
    assert sorted(ids(api.text_search("docs", "storage search", 10, filter=old))) == [1, 2]
    kept = api.text_search("docs", "object", 1).rows.to_pylist()[0]
    assert kept["title"] == "object storage engines" and kept["tags"] == ["db", "s3"]
    assert api.delete("docs", filter=old) == 2
    assert api.delete("docs", ids=[3, 3, 42]) == 1
    assert api.stats("docs")["rows"] == 1
    with pytest.raises(NotSupportedError, match="either ids or a filter"):
        api.delete("docs")
    with pytest.raises(NotSupportedError, match="cannot change the key"):
        api.patch("docs", {"id": 5}, ids=[4])


def test_searches_see_folded_and_unfolded_rows_alike(api):
    before = ids(api.vector_search("docs", [0.5, 0.5, 0.0], 3, filter={"field": "year",
                                   "op": "lt", "value": 2024}))  # fmt: skip
    api.compact("docs")
    assert api.stats("docs")["unindexed_rows"] == 0
    api.upsert("docs", [{"id": 2, "title": "moved", "year": 2000, "vector": [0.4, 0.6, 0.0]}])
    after = api.vector_search("docs", [0.4, 0.6, 0.0], 3, filter={"field": "year", "op": "lt",
                              "value": 2024})  # fmt: skip
    assert set(ids(after)) == set(before) and ids(after)[0] == 2
    assert api.recall("docs", 3) == Recall("vector", 3, 1.0, 2, 1.0)  # the 2 searches above


def test_query_matrix_batches(api):
    many = np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32)
    found = api.vector_search("docs", many, 1)
    assert ids(found) == [1, 2] and list(found.offsets) == [0, 1, 2]
