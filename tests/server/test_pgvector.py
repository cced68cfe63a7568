"""pgvector's SQL and its Python package, unchanged (issue 8, item 3): CREATE EXTENSION,
`vector(n)` columns, `ORDER BY embedding <=> $1 LIMIT k` (with WHERE) answered by the
engine's filtered vector search, the other operators, CREATE INDEX ... USING hnsw, and
`register_vector` with psycopg 3, psycopg2 and pg8000 sending vectors in text and binary."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pg8000.native
import psycopg
import psycopg2
import pytest
from pgvector.pg8000 import register_vector as register_vector_pg8000
from pgvector.psycopg import register_vector
from pgvector.psycopg2 import register_vector as register_vector_psycopg2

import elacsym_sql
from elacsym_sql.server import BackgroundServer
from elacsym_sql.sql.search.pgvector_order import rewrite_nearest

DIM = 8
ROWS = 6000  # > one HNSW segment (5,000 rows) once folded, plus an unfolded tail
rng = np.random.default_rng(7)
VECTORS = rng.normal(size=(ROWS + 200, DIM)).astype(np.float32)
QUERIES = rng.normal(size=(5, DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[int, elacsym_sql.Connection]]:
    root = tmp_path_factory.mktemp("pgvector")
    con = elacsym_sql.connect(str(root / "data"), cache_dir=str(root / "cache"), indexer=False)
    con.execute("CREATE TABLE items (id BIGINT PRIMARY KEY, cat TEXT, embedding vector(8))")
    cats = ["a", "b", "c"]
    con.executemany(
        "INSERT INTO items VALUES (?, ?, ?)",
        [(i, cats[i % 3], VECTORS[i].tolist()) for i in range(ROWS)],
    )
    con.database.engine.fold("items")  # an HNSW segment
    con.executemany(
        "INSERT INTO items VALUES (?, ?, ?)",
        [(i, cats[i % 3], VECTORS[i].tolist()) for i in range(ROWS, ROWS + 200)],
    )
    srv = BackgroundServer(con.database).start()
    try:
        yield srv.port, con
    finally:
        srv.stop()
        con.close()


@pytest.fixture(scope="module")
def pg(server) -> Iterator[psycopg.Connection]:
    with psycopg.connect(
        f"host=127.0.0.1 port={server[0]} user=tester dbname=vectors", autocommit=True
    ) as conn:
        assert conn.execute("CREATE EXTENSION IF NOT EXISTS vector").statusmessage == (
            "CREATE EXTENSION"
        )
        register_vector(conn)
        yield conn


def _ids(rows: list[tuple]) -> list[int]:
    return [r[0] for r in rows]


def _search_ids(conn, q, k: int, filter_sql: str | None = None) -> list[int]:
    option = ", filter := %s" if filter_sql else ""
    params = [q, filter_sql] if filter_sql else [q]
    sql = f"SELECT id FROM vector_search('items', %s, {k}{option}) ORDER BY _distance"
    return _ids(conn.execute(sql, params).fetchall())


def test_order_by_distance_is_the_engines_vector_search(pg):
    for q in QUERIES:
        got = pg.execute("SELECT id FROM items ORDER BY embedding <=> %s LIMIT 10", (q,))
        assert _ids(got.fetchall()) == _search_ids(pg, q, 10)


def test_where_filters_inside_the_search(pg):
    for q in QUERIES:
        rows = pg.execute(
            "SELECT id, cat, embedding <=> %s AS d FROM items WHERE cat = %s AND id >= %s"
            " ORDER BY d LIMIT 7",
            (q, "b", 100),
        ).fetchall()
        assert len(rows) == 7 and {r[1] for r in rows} == {"b"}
        assert _ids(rows) == _search_ids(pg, q, 7, "cat = 'b' AND id >= 100")
        distances = [r[2] for r in rows]
        assert distances == sorted(distances)


def test_the_distance_is_pgvectors(pg):
    q = QUERIES[0]
    (row,) = pg.execute(
        "SELECT id, embedding, embedding <=> %s FROM items ORDER BY embedding <=> %s LIMIT 1",
        (q, q),
    ).fetchall()
    v = row[1].to_numpy()  # a vector column reads as pgvector's Vector
    cosine = 1 - float(v @ q) / float(np.linalg.norm(v) * np.linalg.norm(q))
    assert row[2] == pytest.approx(cosine, abs=1e-5)
    cur = pg.execute("SELECT embedding <=> %s FROM items ORDER BY embedding <=> %s LIMIT 1", (q, q))
    assert cur.description[0].name == "?column?"


def test_another_metric_is_an_exact_search(pg):
    """The namespace's metric is cosine: `<->` and `<#>` order every row by their own
    distance (no index answers them), as pgvector does without a matching index."""
    q = QUERIES[1]
    l2 = np.linalg.norm(VECTORS - q, axis=1)
    ip = -(VECTORS @ q)
    got = pg.execute("SELECT id FROM items ORDER BY embedding <-> %s LIMIT 5", (q,))
    assert _ids(got.fetchall()) == np.argsort(l2, kind="stable")[:5].tolist()
    got = pg.execute("SELECT id, embedding <#> %s FROM items ORDER BY 2 LIMIT 5", (q,))
    rows = got.fetchall()
    assert _ids(rows) == np.argsort(ip, kind="stable")[:5].tolist()
    assert rows[0][1] == pytest.approx(float(ip.min()), rel=1e-5)


def test_the_rewrite_takes_the_search_path(server):
    schema = server[1].database.views.refresh_one("items").schema
    found = rewrite_nearest(
        "SELECT * FROM items i WHERE i.cat = $2 ORDER BY i.embedding <=> $1 LIMIT $3 OFFSET 2",
        [[0.0] * 8, "it's", 5],
        lambda name: schema if name == "items" else None,
    )
    assert found == (
        'SELECT "id", "cat", "embedding" FROM vector_search(\'items\', $1, 7, '
        "\"column\" := 'embedding', filter := 'cat = ''it''''s''') AS \"i\" "
        "ORDER BY _distance LIMIT 5 OFFSET 2",
        [[0.0] * 8],
    )
    # Another metric, a join, GROUP BY: as written (DuckDB, exact).
    for sql in (
        "SELECT id FROM items ORDER BY embedding <-> $1 LIMIT 5",
        "SELECT i.id FROM items i JOIN items j ON i.id = j.id ORDER BY i.embedding <=> $1 LIMIT 5",
        "SELECT cat FROM items GROUP BY cat ORDER BY min(embedding <=> $1) LIMIT 5",
        "SELECT id FROM items ORDER BY embedding <=> $1 DESC LIMIT 5",
        "SELECT id FROM items ORDER BY embedding <=> $1, id LIMIT 5",
        "SELECT id FROM items ORDER BY embedding <=> $1 LIMIT 0",
    ):
        assert rewrite_nearest(sql, [[0.0] * 8], lambda name: schema) is None


def test_vectors_round_trip_as_pgvectors_type(pg):
    q = QUERIES[2]
    for binary in (False, True):
        (back,) = pg.cursor(binary=binary).execute("SELECT %s::vector", (q,)).fetchone()
        assert np.allclose(back.to_numpy(), q)  # a cast to vector is pgvector's type
    (oid,) = pg.execute("SELECT oid FROM pg_type WHERE typname = 'vector'").fetchone()
    assert oid == 16401
    pg.execute("INSERT INTO items (id, cat, embedding) VALUES (%s, %s, %s)", (900001, "z", q))
    (stored,) = pg.execute("SELECT embedding FROM items WHERE id = 900001").fetchone()
    assert np.allclose(stored.to_numpy(), q)
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        pg.execute("SELECT %s::vector", ("[1,2",)).fetchone()


def test_indexes_and_text_vectors(pg):
    for sql in (
        "CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)",
        "CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16)",
        "CREATE INDEX ON items USING ivfflat (embedding vector_ip_ops) WITH (lists = 100)",
    ):
        assert pg.execute(sql).statusmessage == "CREATE INDEX"
    text = "[" + ",".join(str(float(x)) for x in QUERIES[3]) + "]"
    got = pg.execute(f"SELECT id FROM items ORDER BY embedding <=> '{text}' LIMIT 4")
    assert _ids(got.fetchall()) == _search_ids(pg, QUERIES[3], 4)


def test_psycopg2_register_vector(server, pg):
    conn = psycopg2.connect(f"host=127.0.0.1 port={server[0]} user=tester dbname=vectors")
    conn.autocommit = True
    try:
        register_vector_psycopg2(conn)
        cur = conn.cursor()
        q = QUERIES[4]
        cur.execute(
            "SELECT id FROM items WHERE cat = %s ORDER BY embedding <=> %s LIMIT 5", ("c", q)
        )
        assert _ids(cur.fetchall()) == _search_ids(pg, q, 5, "cat = 'c'")
    finally:
        conn.close()


def test_embedded_connection_runs_the_same_sql(server, pg):
    con = server[1]
    q = QUERIES[0]
    rows = con.execute(
        "SELECT id FROM items WHERE cat = ? ORDER BY embedding <=> ? LIMIT 6", ["a", q.tolist()]
    ).fetchall()
    assert _ids(rows) == _search_ids(pg, q, 6, "cat = 'a'")


def test_hnsw_ef_search_is_the_search_ef(server, pg):
    """pgvector's `SET hnsw.ef_search` reaches the search as its `ef`."""
    q = QUERIES[1]
    schema = server[1].database.views.refresh_one("items").schema
    sql = "SELECT id FROM items ORDER BY embedding <=> $1 LIMIT 10"
    found = rewrite_nearest(sql, [q.tolist()], lambda name: schema, ef_search=200)
    assert found is not None and "ef := 200" in found[0]
    pg.execute("SET hnsw.ef_search = 200")
    try:
        got = pg.execute("SELECT id FROM items ORDER BY embedding <=> %s LIMIT 10", (q,))
        want = pg.execute(
            "SELECT id FROM vector_search('items', %s, 10, ef := 200) ORDER BY _distance", (q,)
        )
        assert _ids(got.fetchall()) == _ids(want.fetchall())
    finally:
        pg.execute("RESET hnsw.ef_search")


def test_limit_zero_and_wrong_dimensions(pg):
    assert (
        pg.execute(
            "SELECT id FROM items ORDER BY embedding <=> %s LIMIT 0", (QUERIES[0],)
        ).fetchall()
        == []
    )
    with pytest.raises(psycopg.errors.DataException):
        pg.execute(
            "SELECT id FROM items ORDER BY embedding <=> %s LIMIT 3", ([1.0, 2.0],)
        ).fetchall()


def test_pg8000_register_vector(server, pg):
    """pg8000 sends vectors as untyped '[...]' text, where the statement wants floats."""
    conn = pg8000.native.Connection("tester", host="127.0.0.1", port=server[0], database="v")
    try:
        register_vector_pg8000(conn)
        q = QUERIES[2]
        rows = conn.run(
            "SELECT id FROM items WHERE cat = :cat ORDER BY embedding <=> :q LIMIT 5", cat="a", q=q
        )
        assert _ids(rows) == _search_ids(pg, q, 5, "cat = 'a'")
        conn.run("INSERT INTO items (id, cat, embedding) VALUES (:id, 'p', :v)", id=900002, v=q)
        [[back]] = conn.run("SELECT embedding FROM items WHERE id = 900002")
        assert np.allclose(back.to_numpy(), q)  # read as pgvector's Vector
    finally:
        conn.close()
