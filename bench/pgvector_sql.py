"""pgvector's SQL over the wire: `ORDER BY embedding <=> %s LIMIT 10` (with and without a
WHERE clause) as the engine's vector search, against the same statement answered by a full
scan (another metric's operator), with psycopg 3 and pgvector's `register_vector`.

    python bench/pgvector_sql.py [--rows 50000] [--queries 200]

Data: ../shared/data/sentences/minilm384.f16.npy (unit vectors, so `<->` ranks as `<=>`);
the last `--queries` rows are the queries, the `--rows` before them go into a namespace
`items (id BIGINT PRIMARY KEY, tag INTEGER = id % 100, embedding vector(384))`, cosine,
folded into one HNSW segment. Recall@10 against numpy brute force over the allowed rows.
Prints a table and writes bench/results/pgvector_sql.json. `SET hnsw.ef_search` is not used:
the search's default ef (64) applies.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import psycopg
import pyarrow as pa
from common import (
    RESULTS_DIR,
    K,
    arrow_vectors,
    as_float32,
    machine_basics,
    recall_at_k,
    sentence_vectors,
    unit_rows,
    write_results,
)
from pgvector.psycopg import register_vector

import elacsym_sql
from elacsym_sql.server import BackgroundServer

EXACT_QUERIES = 20  # a full scan per query: the first 20 queries only
STATEMENTS = {
    "ann": "SELECT id FROM items ORDER BY embedding <=> %s LIMIT 10",
    "ann, WHERE tag < 10": "SELECT id FROM items WHERE tag < 10 ORDER BY embedding <=> %s LIMIT 10",
    "exact scan (<->)": "SELECT id FROM items ORDER BY embedding <-> %s LIMIT 10",
    "exact scan (<->), WHERE tag < 10": (
        "SELECT id FROM items WHERE tag < 10 ORDER BY embedding <-> %s LIMIT 10"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    data = sentence_vectors()
    base = as_float32(data[: args.rows])
    queries = as_float32(data[len(data) - args.queries :])
    with tempfile.TemporaryDirectory() as root:
        con = elacsym_sql.connect(f"{root}/data", cache_dir=f"{root}/cache", indexer=False)
        con.execute(
            "CREATE TABLE items (id BIGINT PRIMARY KEY, tag INTEGER, embedding vector(384))"
        )
        ids = np.arange(len(base))
        table = pa.table(
            {"id": ids, "tag": (ids % 100).astype(np.int32), "embedding": arrow_vectors(base)}
        )
        con.register("incoming", table)
        con.execute("INSERT INTO items SELECT * FROM incoming")
        con.unregister("incoming")
        con.database.engine.fold("items")
        server = BackgroundServer(con.database).start()
        try:
            rows = run(server.port, base, queries)
        finally:
            server.stop()
            con.close()
    print(f"{'statement':36} {'q/s':>8} {'recall@10':>10}")
    for row in rows:
        print(f"{row['statement']:36} {row['qps']:8.0f} {row['recall']:10.3f}")
    write_results(
        RESULTS_DIR / "pgvector_sql.json",
        {"rows": args.rows, "queries": args.queries, "machine": machine_basics(), "results": rows},
    )


def run(port: int, base: np.ndarray, queries: np.ndarray) -> list[dict[str, object]]:
    unit = unit_rows(base)
    out = []
    with psycopg.connect(f"host=127.0.0.1 port={port} user=bench", autocommit=True) as conn:
        register_vector(conn)
        for name, sql in STATEMENTS.items():
            allowed = (
                np.arange(len(base)) % 100 < 10 if "WHERE" in name else np.ones(len(base), bool)
            )
            scores = unit[allowed] @ unit_rows(queries).T
            truth = np.flatnonzero(allowed)[np.argsort(-scores, axis=0)[:K].T]
            conn.execute(sql, (queries[0],)).fetchall()  # warm: caches, prepared form
            run_queries = queries if name.startswith("ann") else queries[:EXACT_QUERIES]
            found = []
            start = time.perf_counter()
            for q in run_queries:
                found.append([r[0] for r in conn.execute(sql, (q,)).fetchall()])
            seconds = time.perf_counter() - start
            out.append(
                {
                    "statement": name,
                    "sql": sql,
                    "queries": len(run_queries),
                    "qps": len(run_queries) / seconds,
                    "recall": recall_at_k(found, truth),
                }
            )
    return out


if __name__ == "__main__":
    main()
