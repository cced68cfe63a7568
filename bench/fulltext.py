"""Full-text benchmark: BM25 quality (nDCG@10) and speed on BEIR SciFact, against peers.

    python bench/fulltext.py [--repeat 3] [--json results.json]

Data: ../shared/data/scifact (5,183 abstracts, 300 test queries with qrels). Every system
indexes title + text with English stemming and stop words, and answers one query at a
time (what `text_search` does); queries/s is the best of `--repeat` passes.

Rows:
- elacsym: `elacsym_sql.index.fulltext` (fold to immutable files on a local directory,
  `LiveIndex.view`, `Searcher.search`), default field (title + text as one field);
  also with `columns := 'title, text'` (per-column BM25 summed), with half the corpus in
  the unindexed tail, after 20 folds, and with filters (allowed keys) of 1%, 10%, 50%.
- tantivy direct, en_stem, fields title + text through `parse_query_lenient`: the
  reference setup of ../shared/README.md (0.666).
- tantivy direct with elacsym's analyzer on one field: what our layer costs over raw tantivy.
- bm25s (English stemmer + stop words), when installed.

Also measured: fold throughput, read-after-write cost of the live index (one row written,
then a search), and how far scores drift when 20% of the rows are rewritten and the
deleted versions still count in tantivy's statistics.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import tantivy
from common import SHARED_DATA, best_time, write_results

from elacsym_sql.index.fulltext import (
    Delete,
    FtsSpec,
    FtsState,
    LiveIndex,
    Searcher,
    Upsert,
    fold,
)
from elacsym_sql.schema import Column, Options, Schema

DATA = SHARED_DATA / "scifact"
TARGET_NDCG, TARGET_QPS = 0.686, 1000


class DirIO:
    """Object storage as a local directory (what LocalStore does, minus the cache)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def fetch(self, key: str) -> str:
        return os.path.join(self.root, key)

    def upload(self, key: str, path: str) -> None:
        target = os.path.join(self.root, key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(path, target)


def load() -> tuple[list[dict], dict[str, str], dict[str, dict[str, int]]]:
    lines = {n: (DATA / n).read_text().splitlines() for n in ("corpus.jsonl", "queries.jsonl")}
    corpus = [json.loads(line) for line in lines["corpus.jsonl"]]
    queries = {q["_id"]: q["text"] for q in map(json.loads, lines["queries.jsonl"])}
    qrels: dict[str, dict[str, int]] = {}
    for line in (DATA / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        qid, doc, rel = line.split("\t")
        qrels.setdefault(qid, {})[doc] = int(rel)
    return corpus, queries, qrels


def ndcg10(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> float:
    total = 0.0
    for qid, rel in qrels.items():
        got = run.get(qid, [])[:10]
        dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(got) if rel.get(d, 0) > 0)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(rel))))
        total += dcg / ideal
    return total / len(qrels)


def timed(fn: Callable[[str], list[str]], qids: list[str], repeat: int) -> tuple[dict, float]:
    """The results of fn(qid) for every query, and queries/s: the best of `repeat` passes."""
    seconds, run = best_time(lambda: {qid: fn(qid) for qid in qids}, repeat)
    return run, len(qids) / seconds


def rows(corpus: list[dict], ids: list[int]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "title": [corpus[i]["title"] for i in ids],
            "text": [corpus[i]["text"] for i in ids],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    corpus, queries, qrels = load()
    qids = list(qrels)
    doc_ids = [d["_id"] for d in corpus]
    schema = Schema(
        "scifact",
        (Column("id", "BIGINT"), Column("title", "VARCHAR"), Column("text", "VARCHAR")),
        "id",
        Options(full_text=("title", "text")),
    )
    spec = FtsSpec.from_schema(schema)
    root = tempfile.mkdtemp(prefix="bench-fts-")
    io = DirIO(root)
    table: list[tuple[str, float, float, str]] = []
    extra: dict[str, float | str] = {}
    all_ids = list(range(len(corpus)))

    def ours(searcher: Searcher, name: str, note: str = "", **kw: object) -> dict:
        def one(qid: str) -> list[str]:
            return [doc_ids[h.key] for h in searcher.search(queries[qid], 10, **kw)]  # type: ignore[arg-type]

        run, qps = timed(one, qids, args.repeat)
        table.append((name, ndcg10(run, qrels), qps, note))
        return run

    try:
        # One fold of the whole corpus.
        t = time.perf_counter()
        state = fold(spec, None, [Upsert(rows(corpus, all_ids))], io, "ns/fts", wal_hwm=0)
        extra["fold rows/s"] = len(corpus) / (time.perf_counter() - t)
        extra["index MB"] = state.bytes / 1e6
        live = LiveIndex(spec, io, work_dir=root)
        one_fold = live.view(state)
        ours(one_fold, "elacsym (title+text as one field)", "default")
        ours(
            one_fold,
            "elacsym columns := 'title, text'",
            "per-column BM25 summed",
            columns="title, text",
        )

        # Half indexed, half in the unindexed tail.
        half = len(corpus) // 2
        base = fold(spec, None, [Upsert(rows(corpus, all_ids[:half]))], io, "ns/fts", wal_hwm=0)
        tail_live = LiveIndex(spec, io, work_dir=root)
        tail_view = tail_live.view(base, [(1, Upsert(rows(corpus, all_ids[half:])))])
        ours(tail_view, "elacsym, 50% of rows in the tail", "")
        extra["tail vs folded max |score diff|"] = max_diff(one_fold, tail_view, queries, qids)

        # Twenty folds.
        state20: FtsState | None = None
        for n, part in enumerate(chunks(all_ids, 20)):
            state20 = fold(spec, state20, [Upsert(rows(corpus, part))], io, "ns/fts", wal_hwm=n)
        view20 = LiveIndex(spec, io, work_dir=root).view(state20)
        ours(view20, "elacsym after 20 folds", "")
        extra["20 folds vs 1 max |score diff|"] = max_diff(one_fold, view20, queries, qids)
        extra["tantivy segments: 1 fold / 20 folds"] = f"{segments(state)} / {segments(state20)}"  # type: ignore[arg-type]

        # Filters: allowed key sets (a random fraction of the corpus).
        rng = random.Random(7)
        for pct in (50, 10, 1):
            allowed = set(rng.sample(all_ids, len(corpus) * pct // 100))
            ours(one_fold, f"elacsym filter {pct}% allowed", "nDCG not comparable", allowed=allowed)

        # Rewrite 20% of rows (same text): deleted versions still count in the statistics.
        rewritten = rng.sample(all_ids, len(corpus) // 5)
        state_rw = fold(spec, state, [Upsert(rows(corpus, rewritten))], io, "ns/fts", wal_hwm=1)
        view_rw = LiveIndex(spec, io, work_dir=root).view(state_rw)
        extra["20% rewritten: deleted docs kept"] = state_rw.deleted
        extra["20% rewritten: max relative score drift"] = max_diff(
            one_fold, view_rw, queries, qids, relative=True
        )
        ours(view_rw, "elacsym, 20% of rows rewritten", "deleted versions still counted")

        # Read after write: one row written to the tail, then a search.
        live_rw = LiveIndex(spec, io, work_dir=root)
        live_rw.view(state)
        lat = []
        for seq in range(1, 51):
            t = time.perf_counter()
            v = live_rw.view(state, [(s, Upsert(rows(corpus, [s]))) for s in range(1, seq + 1)])
            v.search("cancer", 10)
            lat.append(time.perf_counter() - t)
        extra["read-after-write ms (median)"] = sorted(lat)[len(lat) // 2] * 1000
        live_rw.view(state, [(51, Delete([0]))])

        tantivy_direct(corpus, queries, qids, qrels, table, args.repeat)
        bm25s_row(corpus, queries, qids, qrels, table, args.repeat)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(f"\nSciFact test ({len(qids)} queries), one query at a time, k=10")
    print(f"{'system':46} {'nDCG@10':>8} {'q/s':>8}  note")
    for name, nd, qps, note in table:
        print(f"{name:46} {nd:8.4f} {qps:8.0f}  {note}")
    print(f"target: nDCG@10 >= {TARGET_NDCG} at >= {TARGET_QPS} q/s")
    for name, value in extra.items():
        print(f"{name:46} {value if isinstance(value, str) else format(value, '.6g')}")
    if args.json:
        write_results(Path(args.json), {"table": table, "extra": extra}, indent=1, announce=False)


def segments(state: FtsState) -> int:
    return sum(name.endswith(".idx") for name, _ in state.files)


def chunks(ids: list[int], n: int) -> list[list[int]]:
    size = math.ceil(len(ids) / n)
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def max_diff(
    a: Searcher, b: Searcher, queries: dict, qids: list[str], relative: bool = False
) -> float:
    """Largest score difference for the same (query, key) in the top 100 of both."""
    worst = 0.0
    for qid in qids:
        sa = dict(a.search(queries[qid], 100))
        sb = dict(b.search(queries[qid], 100))
        for key in sa.keys() & sb.keys():
            d = abs(sa[key] - sb[key])
            worst = max(worst, d / sa[key] if relative else d)
    return worst


def tantivy_direct(corpus, queries, qids, qrels, table, repeat) -> None:  # type: ignore[no-untyped-def]
    # Reference setup: built-in en_stem (no stop words), title and text as two fields.
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("title", tokenizer_name="en_stem")
    sb.add_text_field("text", tokenizer_name="en_stem")
    sb.add_integer_field("i", indexed=True, fast=True)
    index = tantivy.Index(sb.build())
    writer = index.writer(128_000_000, 1)
    for i, d in enumerate(corpus):
        writer.add_document(tantivy.Document(title=d["title"], text=d["text"], i=i))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    s = index.searcher()

    def one(qid: str) -> list[str]:
        q, _ = index.parse_query_lenient(queries[qid], ["title", "text"])
        hits = s.search(q, 10, count=False).hits
        return [corpus[i]["_id"] for i in s.fast_field_values("i", [a for _, a in hits])]

    run, qps = timed(one, qids, repeat)
    table.append(("tantivy direct, en_stem, title + text fields", ndcg10(run, qrels), qps, ""))

    # Same analysis as elacsym (stop words, distinct terms), one field: the layer's floor.
    from elacsym_sql.index.analyzer import build_analyzer, query_terms

    analyzer = build_analyzer(Options())
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("all", tokenizer_name="an")
    sb.add_integer_field("i", indexed=True, fast=True)
    schema = sb.build()
    index = tantivy.Index(schema)
    index.register_tokenizer("an", analyzer)
    writer = index.writer(128_000_000, 1)
    for i, d in enumerate(corpus):
        writer.add_document(tantivy.Document(all=[d["title"], d["text"]], i=i))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    s = index.searcher()

    def two(qid: str) -> list[str]:
        terms = query_terms(analyzer, queries[qid])
        q = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "all", t)) for t in terms]
        )
        hits = s.search(q, 10, count=False).hits
        return [corpus[i]["_id"] for i in s.fast_field_values("i", [a for _, a in hits])]

    run, qps = timed(two, qids, repeat)
    table.append(("tantivy direct, elacsym analyzer, one field", ndcg10(run, qrels), qps, "floor"))


def bm25s_row(corpus, queries, qids, qrels, table, repeat) -> None:  # type: ignore[no-untyped-def]
    try:
        import bm25s
        import Stemmer
    except ImportError:
        table.append(("bm25s", math.nan, math.nan, "not installed (pip install bm25s PyStemmer)"))
        return
    stemmer = Stemmer.Stemmer("english")
    texts = [d["title"] + " " + d["text"] for d in corpus]
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)

    def one(qid: str) -> list[str]:
        q = bm25s.tokenize([queries[qid]], stopwords="en", stemmer=stemmer, show_progress=False)
        docs, _ = retriever.retrieve(q, k=10, show_progress=False)
        return [corpus[i]["_id"] for i in docs[0]]

    run, qps = timed(one, qids, repeat)
    table.append(("bm25s (k1=1.5, b=0.75, en stem + stop)", ndcg10(run, qrels), qps, ""))


if __name__ == "__main__":
    main()
