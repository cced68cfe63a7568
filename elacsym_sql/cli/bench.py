"""`elacsym bench NS`: how fast and how exact searches of a namespace are, on its own data.

- Recall against q/s: `--queries` vectors sampled from the namespace (seeded) are searched
  one statement at a time, as an application would, at each `--ef` and exactly; recall@k
  is the share of the exact search's k ids the approximate one returns.
- nDCG@10 by search kind, when `--judged FILE` (JSON Lines: {"id", "text", "vector"}) and
  `--qrels FILE` (TSV: query id, document id, graded relevance) are given: text_search,
  vector_search, hybrid_search with RRF and with min-max fusion.

Writes DIR/bench.json and, with matplotlib installed (the `plot` extra), DIR/bench.png and
DIR/bench.svg (bench_plot.py).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InvalidParameterValue
from ..sql import Connection
from .sql_text import literal, quote

Qrels = dict[str, dict[str, int]]


def run_bench(con: Connection, args: argparse.Namespace) -> int:
    ns, k = args.namespace, args.k
    key, column = _key_and_vector(con, ns, args.column)
    queries = [
        list(row[0])
        for row in con.execute(
            f"SELECT {quote(column)} FROM {quote(ns)} WHERE {quote(column)} IS NOT NULL "
            f"USING SAMPLE reservoir({int(args.queries)} ROWS) REPEATABLE (7)"
        ).fetchall()
    ]
    if not queries:
        raise InvalidParameterValue(f"namespace {ns} has no vectors in {column} to search")
    # Only the query vector is a parameter: a plain search statement with literal options
    # is answered by the direct path, as an application's would be.
    search = f"SELECT {quote(key)} FROM vector_search({literal(ns)}, ?, {int(k)}"
    search += f", column := {literal(column)}"
    exact_qps, truth = _timed(con, search + ", exact := true)", [[q] for q in queries])
    points = [{"ef": None, "recall": 1.0, "qps": exact_qps}]
    for ef in args.ef:
        qps, found = _timed(con, search + f", ef := {int(ef)})", [[q] for q in queries])
        points.append({"ef": ef, "recall": recall(found, truth), "qps": qps})
    stats = con.database.engine.stats(ns)
    result: dict[str, Any] = {"namespace": ns, "k": k, "queries": len(queries), "vector": points}
    result |= {"rows": stats["rows"], "unindexed_rows": stats["unindexed_rows"]}
    if args.judged or args.qrels:
        if not (args.judged and args.qrels):
            raise InvalidParameterValue("--judged and --qrels go together")
        result["ndcg10"] = _quality(con, ns, key, column, args.judged, args.qrels)
    _report(result)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bench.json"), "w") as f:
        json.dump(result, f, indent=2)
    try:
        from .bench_plot import plot
    except ImportError:  # matplotlib is an optional extra
        print(f"wrote {args.out}/bench.json (no plot: pip install 'elacsym-sql[plot]')")
        return 0
    written = plot(result, args.out)
    print(f"wrote {args.out}/bench.json, {', '.join(written)}")
    return 0


def recall(found: Sequence[Sequence[Any]], truth: Sequence[Sequence[Any]]) -> float:
    """The share of the true ids (per query) that were found."""
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, truth, strict=True))
    return hits / max(sum(len(t) for t in truth), 1)


def ndcg_at_k(run: dict[str, list[str]], qrels: Qrels, k: int = 10) -> float:
    """Mean nDCG@k over the judged queries (one missing from `run` scores 0): graded gains,
    discount log2(rank + 1), normalised by the ideal order of the judged documents."""
    total = 0.0
    for qid, judged in qrels.items():
        gains = [judged.get(doc, 0) for doc in run.get(qid, [])[:k]]
        ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
        dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        total += dcg / idcg if idcg > 0 else 0.0
    return total / max(len(qrels), 1)


def _key_and_vector(con: Connection, ns: str, column: str | None) -> tuple[str, str]:
    engine = con.database.engine
    if ns not in engine.list_namespaces():
        raise InvalidParameterValue(f'namespace "{ns}" does not exist')
    schema = engine.namespace(ns).snapshot().schema
    vectors = [c.name for c in schema.vector_columns]
    if len(schema.declared_key) != 1:
        raise InvalidParameterValue(f"bench wants a namespace with a one-column key; {ns} has none")
    if column is None and len(vectors) != 1:
        raise InvalidParameterValue(f"{ns} has vector columns {vectors}: choose one with --column")
    column = column or vectors[0]
    if column not in vectors:
        raise InvalidParameterValue(f"{ns}.{column} is not a vector column ({vectors})")
    return schema.declared_key[0], column


def _timed(con: Connection, sql: str, params: list[list[Any]]) -> tuple[float, list[list[Any]]]:
    """Queries/s of running `sql` once per parameter list (after a warm-up), and the ids."""
    for p in params[:10]:
        con.execute(sql, p).fetchall()
    start = time.perf_counter()
    found = [[r[0] for r in con.execute(sql, p).fetchall()] for p in params]
    return len(params) / (time.perf_counter() - start), found


def _quality(
    con: Connection, ns: str, key: str, column: str, judged: str, qrels_path: str
) -> dict[str, float]:
    with open(judged, encoding="utf-8") as f:
        queries = [json.loads(line) for line in f if line.strip()]
    qrels = read_qrels(qrels_path)
    queries = [q for q in queries if str(q["id"]) in qrels]
    name, col = literal(ns), f"column := {literal(column)}"

    def both(q: dict[str, Any]) -> list[Any]:
        return [q["vector"], q["text"]]

    kinds: dict[str, tuple[str, Callable[[dict[str, Any]], list[Any]]]] = {
        "text_search": (f"text_search({name}, ?, 10)", lambda q: [q["text"]]),
        "vector_search": (f"vector_search({name}, ?, 10, {col})", lambda q: [q["vector"]]),
        "hybrid_search (rrf)": (f"hybrid_search({name}, ?, ?, 10, {col})", both),
        "hybrid_search (minmax)": (
            f"hybrid_search({name}, ?, ?, 10, {col}, fusion := 'minmax')",
            both,
        ),
    }
    out = {}
    for kind, (call, params) in kinds.items():
        sql = f"SELECT {quote(key)} FROM {call}"
        run = {
            str(q["id"]): [str(r[0]) for r in con.execute(sql, params(q)).fetchall()]
            for q in queries
        }
        out[kind] = ndcg_at_k(run, qrels)
    return out


def read_qrels(path: str) -> Qrels:
    """query id -> {document id: relevance} from a TSV; a header line is skipped."""
    qrels: Qrels = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3 and parts[2].lstrip("-").isdigit():
                qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def _report(result: dict[str, Any]) -> None:
    print(
        f"{result['namespace']}: {result['rows']:,} rows ({result['unindexed_rows']:,} not yet "
        f"indexed, searched exactly), {result['queries']} queries, k = {result['k']}"
    )
    print(f"{'ef':>8} {'recall@k':>9} {'q/s':>9}")
    for p in result["vector"]:
        ef = "exact" if p["ef"] is None else p["ef"]
        print(f"{ef:>8} {p['recall']:9.4f} {p['qps']:9.1f}")
    for name, value in result.get("ndcg10", {}).items():
        print(f"nDCG@10 {name:24} {value:.4f}")
