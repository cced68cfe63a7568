"""The original service's curl quick start, run with curl as its users typed it (only the
port differs: the server listens on a free one), then a hybrid query with a filter."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

QUICK_START = """
curl -X PUT localhost:3000/v1/namespaces/my_docs -H 'Content-Type: application/json' -d '{"schema":
  {"vector_dim": 4, "vector_metric": "cosine",
   "attributes": {"title": {"attr_type": "string", "indexed": false, "full_text": {"Simple": true}}}}}'
curl -X POST localhost:3000/v1/namespaces/my_docs/upsert -H 'Content-Type: application/json' \\
  -d '{"documents": [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4], "attributes": {"title": "My Document"}}]}'
curl -X POST localhost:3000/v1/namespaces/my_docs/query -H 'Content-Type: application/json' \\
  -d '{"vector": [0.15, 0.25, 0.35, 0.45], "top_k": 10}'
curl -X POST localhost:3000/v1/namespaces/my_docs/query -H 'Content-Type: application/json' \\
  -d '{"full_text": {"field": "title", "query": "document"}, "top_k": 10}'
"""  # noqa: E501
HYBRID = """
curl -X POST localhost:3000/v1/namespaces/my_docs/query -H 'Content-Type: application/json' \\
  -d '{"vector": [0.15, 0.25, 0.35, 0.45], "full_text": {"field": "title", "query": "document"},
       "filter": {"type": "and", "conditions": [{"field": "title", "op": "eq", "value": "My Document"}]},
       "top_k": 10}'
"""  # noqa: E501


def run_curl(script: str, port: int) -> list[dict]:
    """Each curl line's answer, parsed (curl writes them back to back)."""
    out = subprocess.run(
        ["bash", "-c", script.replace("localhost:3000", f"localhost:{port}")],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    decoder, answers, at = json.JSONDecoder(), [], 0
    while at < len(out):
        answer, at = decoder.raw_decode(out, at)
        answers.append(answer)
    return answers


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_original_quick_start_runs_verbatim(served):
    created, upserted, by_vector, by_text = run_curl(QUICK_START, served.http_port)
    assert created == {"namespace": "my_docs", "created": True}
    assert upserted == {"count": 1}
    assert [r["id"] for r in by_vector["results"]] == [1]
    assert by_vector["results"][0]["attributes"] == {"title": "My Document"}
    assert by_vector["results"][0]["score"] > 0.99  # cosine similarity of near-parallel vectors
    assert [r["id"] for r in by_text["results"]] == [1] and by_text["score_kind"] == "bm25"
    [hybrid] = run_curl(HYBRID, served.http_port)
    assert hybrid["score_kind"] == "rrf" and [r["id"] for r in hybrid["results"]] == [1]
    assert hybrid["results"][0]["score"] == pytest.approx(2 / 61)
