"""hybrid_search: RRF of vector and text search, checked against hand-computed scores."""

from __future__ import annotations

import pytest

from tests.helpers import connection, fold, rows


@pytest.fixture
def con(make_settings):
    with connection(make_settings) as c:
        c.execute(
            "CREATE TABLE docs (id BIGINT PRIMARY KEY, title TEXT, emb FLOAT[2]) "
            "WITH (full_text = 'title', metric = 'l2')"
        )
        c.executemany(
            "INSERT INTO docs VALUES (?, ?, ?)",
            [
                (1, "red apple", [0, 0]),
                (2, "green apple", [1, 0]),
                (3, "red car", [2, 0]),
                (4, "blue sky", [3, 0]),
            ],
        )
        yield c


def test_rrf_scores_and_ranks_by_hand(con):
    # vector ranks for [0, 0]: 1, 2, 3, 4; text ranks for 'red': 1, 3 (equal BM25, ties by id)
    want = [
        (1, "red apple", 1 / 61 + 1 / 61, 1, 1),
        (3, "red car", 1 / 63 + 1 / 62, 3, 2),
        (2, "green apple", 1 / 62, 2, None),
    ]
    for _ in range(2):  # in the WAL tail, then folded into a segment
        got = rows(
            con,
            "SELECT id, title, _score, _vector_rank, _text_rank "
            "FROM hybrid_search('docs', [0, 0], 'red', 3)",
        )
        assert [g[:2] + g[3:] for g in got] == [w[:2] + w[3:] for w in want]
        assert [g[2] for g in got] == pytest.approx([w[2] for w in want])
        fold(con)


def test_rrf_k_weights_and_filter(con):
    got = rows(
        con,
        "SELECT id, _score FROM hybrid_search('docs', [0, 0], 'red', 3, "
        "rrf_k := 1, weights := [2.0, 1.0], filter := 'id > 1')",
    )
    assert [g[0] for g in got] == [3, 2, 4]
    assert [g[1] for g in got] == pytest.approx([2 / 3 + 1 / 2, 2 / 2, 2 / 4])


def test_window_limits_each_branch(con):
    got = rows(
        con,
        "SELECT id, _vector_rank, _text_rank FROM hybrid_search('docs', [0, 0], "
        "'blue', 10, \"window\" := 1) ORDER BY id",
    )
    assert got == [(1, 1, None), (4, None, 1)]


def test_lateral_hybrid(con):
    con.execute("CREATE TEMP TABLE qs AS SELECT 1 AS qid, [3.0, 0]::FLOAT[] AS vec, 'sky' AS txt")
    got = rows(
        con,
        "SELECT q.qid, r.id FROM qs q, LATERAL hybrid_search('docs', q.vec, q.txt, 2) r "
        "ORDER BY r._score DESC",
    )
    assert got == [(1, 4), (1, 3)]


def test_rrf_recipe_of_the_readme(make_settings):
    with connection(make_settings) as c:
        c.execute(
            "CREATE TABLE docs (id BIGINT PRIMARY KEY, body TEXT, title_vec FLOAT[2], "
            "body_vec FLOAT[2]) WITH (full_text = 'body')"
        )
        c.executemany(
            "INSERT INTO docs VALUES (?, ?, ?, ?)",
            [
                (1, "alpha", [1, 0], [0, 1]),
                (2, "beta", [0, 1], [1, 0]),
                (3, "alpha beta", [1, 1], [1, 1]),
            ],
        )
        got = rows(
            c,
            """WITH a AS (SELECT id, row_number() OVER (ORDER BY _distance, id) AS r
                          FROM vector_search('docs', $1, 100, "column" := 'title_vec')),
                    b AS (SELECT id, row_number() OVER (ORDER BY _distance, id) AS r
                          FROM vector_search('docs', $2, 100, "column" := 'body_vec')),
                    c AS (SELECT id, row_number() OVER (ORDER BY _score DESC, id) AS r
                          FROM text_search('docs', $3, 100)),
                    ranked AS (SELECT id, r FROM a UNION ALL SELECT id, r FROM b
                               UNION ALL SELECT id, r FROM c)
               SELECT id, sum(1.0 / (60 + r)) AS score FROM ranked GROUP BY id
               ORDER BY score DESC, id LIMIT 10""",
            [[1.0, 0.0], [1.0, 0.0], "alpha"],
        )
        # title_vec ranks 1, 3, 2; body_vec ranks 2, 3, 1; 'alpha' ranks 1, 3 (shorter first)
        want = {1: 1 / 61 + 1 / 63 + 1 / 61, 3: 3 / 62, 2: 1 / 63 + 1 / 61}
        assert [g[0] for g in got] == [1, 3, 2]
        assert [float(g[1]) for g in got] == pytest.approx([want[1], want[3], want[2]])
