"""elacsym_namespaces() and elacsym_stats(ns)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from elacsym_sql import errors
from tests.helpers import connection, fold, rows


def test_namespaces_lists_live_namespaces(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE b (id TEXT PRIMARY KEY)")
        con.execute("CREATE TABLE a (id BIGINT PRIMARY KEY)")
        con.execute("CREATE TABLE c (id BIGINT PRIMARY KEY)")
        con.execute("DROP TABLE c")
        assert rows(con, "SELECT name FROM elacsym_namespaces()") == [("a",), ("b",)]


def test_stats_counts_rows_segments_and_tail(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE a (id BIGINT PRIMARY KEY, v FLOAT[2])")
        con.executemany("INSERT INTO a VALUES (?, ?)", [(i, [1.0, float(i)]) for i in range(10)])
        fold(con, "a")
        con.execute("UPDATE a SET v = [0, 0] WHERE id < 3")
        con.execute("DELETE FROM a WHERE id = 9")
        got = con.execute(
            "SELECT rows, segments, unindexed_rows, manifest_version FROM elacsym_stats('a')"
        ).fetchall()
        assert got == [(9, 1, 4, 2)]
        assert rows(con, "SELECT count(*) FROM a") == [(9,)]
        ratio = rows(con, "SELECT cache_hit_ratio FROM elacsym_stats('a')")[0][0]
        assert ratio is None or 0 <= ratio <= 1
        with pytest.raises(errors.UndefinedTable):
            con.execute("SELECT * FROM elacsym_stats('nope')")


def test_recall_of_the_index_against_exact_search(make_settings):
    rng = np.random.default_rng(4)
    centers = rng.normal(size=(20, 16))
    vectors = (centers[rng.integers(0, 20, 6000)] + 0.3 * rng.normal(size=(6000, 16))).astype(
        np.float32
    )
    incoming = pa.table(
        {
            "id": np.arange(6000),
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 16),
        }
    )
    with connection(make_settings) as con:
        con.execute("CREATE TABLE v (id BIGINT PRIMARY KEY, emb FLOAT[16])")
        con.register("incoming", incoming)
        con.execute("INSERT INTO v SELECT * FROM incoming")
        fold(con, "v")
        assert con.stats("v")["index_bytes"] > 0  # the HNSW path is what is measured
        ((column, queries, recall, recent, recent_recall),) = rows(
            con, "SELECT * FROM elacsym_recall('v', 40)"
        )
        assert (column, queries) == ("emb", 40) and 0.95 <= recall <= 1.0
        assert (recent, recent_recall) == (0, None)  # no search ran yet
        # Queries from elsewhere (not near the clusters): recall on them is what users get,
        # and what elacsym_recall reports beside the stored vectors' recall.
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        found = 0
        for q in rng.normal(size=(30, 16)).astype(np.float32):
            got = {
                r[0] for r in rows(con, "SELECT id FROM vector_search('v', ?, 10)", [q.tolist()])
            }
            found += len(got & set(np.argsort(-(unit @ q))[:10].tolist()))  # cosine's top 10
        ((_, _, _, recent, recent_recall),) = rows(con, "SELECT * FROM elacsym_recall('v', 40)")
        assert recent == 30 and recent_recall == pytest.approx(found / 300)
        with pytest.raises(errors.InvalidParameterValue):
            con.execute("SELECT * FROM elacsym_recall('v', 0)")
