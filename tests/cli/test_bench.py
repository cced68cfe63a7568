"""`elacsym bench`: recall against q/s at each ef and nDCG@10 of judged queries, written as
JSON, PNG and SVG."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from elacsym_sql.cli import main
from elacsym_sql.cli.bench import ndcg_at_k, recall

ROWS, DIM = 6_000, 16  # segments of 5,000 rows or more get an HNSW index


@pytest.fixture
def env(clean_env, tmp_path):
    monkeypatch = clean_env
    monkeypatch.setenv("ELACSYM_DATA", str(tmp_path / "data"))
    return monkeypatch


def test_metrics():
    assert recall([[1, 2, 3], [4, 5, 9]], [[1, 2, 3], [4, 5, 6]]) == pytest.approx(5 / 6)
    qrels = {"q1": {"a": 2, "b": 1}, "q2": {"c": 1}}
    assert ndcg_at_k({"q1": ["a", "b"], "q2": ["c"]}, qrels) == pytest.approx(1.0)
    assert ndcg_at_k({"q1": ["b", "a"]}, qrels) == pytest.approx(
        (1 + 2 / np.log2(3)) / (2 + 1 / np.log2(3)) / 2
    )


def test_bench_writes_numbers_and_plots(env, tmp_path, capsys):
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((ROWS, DIM)).astype(np.float32)
    table = pa.table(
        {
            "id": pa.array(np.arange(ROWS, dtype=np.int64)),
            "title": [f"word{i} common" for i in range(ROWS)],
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), DIM),
        }
    )
    pq.write_table(table, tmp_path / "docs.parquet")
    assert main(["import", "docs", str(tmp_path / "docs.parquet"), "--full-text", "title"]) == 0
    assert main(["compact", "docs"]) == 0  # one segment with its HNSW and text indexes
    judged = [
        {"id": f"q{j}", "text": f"word{j}", "vector": vectors[j].tolist()} for j in (5, 77, 4000)
    ]
    (tmp_path / "judged.jsonl").write_text("".join(json.dumps(q) + "\n" for q in judged))
    (tmp_path / "qrels.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{j}\t{j}\t1\n" for j in (5, 77, 4000))
    )
    out = tmp_path / "bench"
    argv = ["bench", "docs", "--queries", "40", "--ef", "4,64", "--out", str(out)]
    argv += ["--judged", str(tmp_path / "judged.jsonl"), "--qrels", str(tmp_path / "qrels.tsv")]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "docs: 6,000 rows (0 not yet indexed, searched exactly), 40 queries, k = 10" in printed
    result = json.loads((out / "bench.json").read_text())
    assert [p["ef"] for p in result["vector"]] == [None, 4, 64]
    assert all(p["qps"] > 0 and 0 <= p["recall"] <= 1 for p in result["vector"])
    assert result["vector"][0]["recall"] == 1.0  # exact against itself
    assert result["vector"][2]["recall"] >= result["vector"][1]["recall"]  # more ef, no worse
    # Each judged query's own word and own vector find its one relevant document first.
    assert result["ndcg10"]["text_search"] == pytest.approx(1.0)
    assert result["ndcg10"]["vector_search"] == pytest.approx(1.0)
    assert set(result["ndcg10"]) == {
        "text_search", "vector_search", "hybrid_search (rrf)", "hybrid_search (minmax)"
    }  # fmt: skip
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (out / "bench.svg").read_text()
    assert "<svg" in svg and "nDCG@10" in svg and "recall@10" in svg


def test_bench_refusals_name_the_problem(env, capsys):
    assert main(["bench", "nope"]) == 1
    assert 'namespace "nope" does not exist' in capsys.readouterr().err
    assert (
        main(["shell", "-c", "CREATE TABLE t (id BIGINT PRIMARY KEY, a FLOAT[2], b FLOAT[2])"]) == 0
    )
    assert main(["bench", "t"]) == 1
    assert "choose one with --column" in capsys.readouterr().err
