"""The HTTP/JSON API next to the wire server and the embedded paths, on the same data in one
run: upsert rows/s over HTTP (1,000-document batches of 384-d vectors), then vector query
q/s at 1 and 16 clients over HTTP, the wire (psycopg) and in-process.

    python bench/http_api.py [--rows 20000] [--queries 200] [--seconds 4]

Setup (one temporary directory, removed at the end):
- `elacsym serve` as a subprocess (`python -m elacsym_sql.cli --data D serve --listen P
  --http H`, its own disk cache, indexer off, manifest re-read every second).
- Namespace `docs` created over HTTP: `vector_dim` 384, cosine, `title` (full text); the
  first `--rows` sentence embeddings of ../shared/data/sentences with their text, upserted
  over HTTP in batches of 1,000 documents (orjson bodies, one keep-alive connection);
  rows/s = rows / wall time of all the batches. Then this process folds the namespace
  once (`EngineApi.compact`: one segment with its HNSW index) and waits until the server
  shows it (GET /v1/namespaces/docs: 0 unindexed rows).
- Queries: the last `--queries` sentence vectors (never inserted), k = 10, no filter.
  - HTTP: POST /v1/namespaces/docs/query `{"vector": [...], "top_k": 10}`, one http.client
    keep-alive connection per client thread, answer parsed with orjson.
  - wire: `SELECT id, _distance FROM vector_search('docs', %b, 10)` (psycopg, binary
    float8[] parameter, prepared after 5 runs), one connection per client thread.
  - embedded SQL: the same statement through `elacsym_sql.connect(D)` in this process,
    one cursor per thread; embedded engine API: `EngineApi.vector_search` in this process.
  Each runs `--seconds` after a warm-up; client threads live in this process (the GIL
  is shared by the clients, and by the embedded paths' servers). The first queries' ids
  are compared between HTTP, wire and embedded.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import psycopg
from common import as_float32, sentence_texts, sentence_vectors

import elacsym_sql
from elacsym_sql.engine import EngineApi
from elacsym_sql.testing.s3servers import free_ports

BATCH = 1000


class Http:
    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def call(self, method: str, path: str, body: object = None) -> dict:
        data = None if body is None else orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
        headers = {"Content-Type": "application/json"}
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
        except (ConnectionError, http.client.HTTPException):  # closed while idle: reconnect
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
        payload = orjson.loads(resp.read())
        if resp.status != 200:
            raise RuntimeError(f"{method} {path}: {resp.status} {payload}")
        return payload


def start_server(root: Path) -> tuple[subprocess.Popen[str], int, int]:
    wire, http_port = free_ports(2)
    # No background folding in the server: the bench folds once, from its own process, so
    # queries run over one segment with its HNSW index and nothing is folded meanwhile; the
    # server adopts the new manifest within a second.
    env = dict(
        os.environ,
        ELACSYM_CACHE_DIR=str(root / "cache"),
        ELACSYM_INDEXER="false",
        ELACSYM_MANIFEST_REFRESH_SECONDS="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "elacsym_sql.cli", "--data", str(root / "data"), "serve",
         "--listen", f"127.0.0.1:{wire}", "--http", f"127.0.0.1:{http_port}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    line = proc.stdout.readline() if proc.stdout else ""
    if "HTTP API on" not in line:
        proc.kill()
        raise RuntimeError(f"elacsym serve did not start: {line!r}")
    return proc, wire, http_port


def load(client: Http, vectors: np.ndarray, texts: list[str]) -> float:
    schema = {"schema": {"vector_dim": vectors.shape[1], "vector_metric": "cosine",
              "attributes": {"title": {"type": "string", "full_text": True}}}}  # fmt: skip
    client.call("PUT", "/v1/namespaces/docs", schema)
    started = time.perf_counter()
    for at in range(0, len(vectors), BATCH):
        docs = [
            {"id": i, "vector": vectors[i], "attributes": {"title": texts[i]}}
            for i in range(at, min(at + BATCH, len(vectors)))
        ]
        client.call("POST", "/v1/namespaces/docs/upsert", {"documents": docs})
    return len(vectors) / (time.perf_counter() - started)


def wait_folded(client: Http, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while client.call("GET", "/v1/namespaces/docs")["stats"]["unindexed_rows"]:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not show the folded namespace in time")
        time.sleep(0.5)


Search = Callable[[np.ndarray], list[int]]


def measure(make: Callable[[], Search], queries: np.ndarray, clients: int, seconds: float):
    """(q/s, mean ms, p99 ms) of `clients` threads, each with its own `make()` searcher."""
    searchers = [make() for _ in range(clients)]
    for s in searchers:
        for q in queries[:10]:
            s(q)  # warm-up (and psycopg's prepare threshold)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    stop = time.perf_counter() + seconds

    def run(c: int) -> None:
        i = c
        while time.perf_counter() < stop:
            t = time.perf_counter()
            searchers[c](queries[i % len(queries)])
            latencies[c].append(time.perf_counter() - t)
            i += clients

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    all_ms = np.array([x for lat in latencies for x in lat]) * 1000
    return len(all_ms) / elapsed, float(all_ms.mean()), float(np.percentile(all_ms, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    every = sentence_vectors()
    vectors = as_float32(every[: args.rows])
    queries = as_float32(every[-args.queries :])
    texts = sentence_texts(args.rows)
    root = Path(tempfile.mkdtemp(prefix="bench-http-"))
    proc, wire_port, http_port = start_server(root)
    try:
        client = Http(http_port)
        upsert_rate = load(client, vectors, texts)
        con = elacsym_sql.connect(str(root / "data"), cache_dir=str(root / "cache-embedded"),
                                  indexer=False)  # fmt: skip
        api = EngineApi(con.database.engine)
        api.compact("docs")  # fold the WAL into one segment and build its index
        wait_folded(client)
        dsn = f"host=127.0.0.1 port={wire_port} user=bench dbname=elacsym"
        sql = "SELECT id, _distance FROM vector_search('docs', {}, 10)"

        def over_http() -> Search:
            c = Http(http_port)
            path = "/v1/namespaces/docs/query"
            return lambda q: [r["id"] for r in c.call("POST", path, {"vector": q})["results"]]

        def over_wire() -> Search:
            conn = psycopg.connect(dsn, autocommit=True)
            text = sql.format("%b")
            return lambda q: [r[0] for r in conn.execute(text, [q.tolist()]).fetchall()]

        def embedded_sql() -> Search:
            cur = con.cursor()
            text = sql.format("?")
            return lambda q: [r[0] for r in cur.execute(text, [q.tolist()]).fetchall()]

        def engine_api() -> Search:
            return lambda q: api.vector_search("docs", q, 10).rows.column("id").to_pylist()

        paths = [("HTTP", over_http), ("wire (psycopg)", over_wire),
                 ("embedded SQL", embedded_sql), ("engine API", engine_api)]  # fmt: skip
        first = [make()(queries[0]) for _, make in paths]
        same = all(ids == first[0] for ids in first)
        print(f"rows {args.rows} x {vectors.shape[1]}-d, queries {args.queries}, k 10, "
              f"{os.cpu_count()} cores; same ids on every path: {same}")  # fmt: skip
        print(f"\nupsert over HTTP, {BATCH}-document batches: {upsert_rate:,.0f} rows/s\n")
        print(f"{'path':<16} {'clients':>7} {'q/s':>8} {'mean ms':>8} {'p99 ms':>8}")
        for name, make in paths:
            for clients in (1, 16):
                qps, mean, p99 = measure(make, queries, clients, args.seconds)
                print(f"{name:<16} {clients:>7} {qps:>8.0f} {mean:>8.2f} {p99:>8.2f}")
        con.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
