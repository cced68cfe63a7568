"""hybrid_search: RRF and min-max fusion of vector and text search, checked against
hand-computed scores."""

from __future__ import annotations

import random

import pytest

from elacsym_sql import errors
from elacsym_sql.engine.fusion import DEFAULT_ALPHA
from tests.helpers import connection, fold, rows

MINMAX = "SELECT id, _score, _vector_rank, _text_rank FROM hybrid_search('docs', "


def _docs(c, rows: list[tuple[int, str, list[float]]]) -> None:
    c.execute(
        "CREATE TABLE docs (id BIGINT PRIMARY KEY, title TEXT, emb FLOAT[2]) "
        "WITH (full_text = 'title', metric = 'l2')"
    )
    c.executemany("INSERT INTO docs VALUES (?, ?, ?)", rows)


@pytest.fixture
def con(make_settings):
    with connection(make_settings) as c:
        _docs(
            c,
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


def test_explicit_rrf_is_the_default(con):
    sql = "SELECT id, _score, _vector_rank, _text_rank FROM hybrid_search('docs', [0, 0], 'red', 4"
    assert rows(con, sql + ", fusion := 'rrf')") == rows(con, sql + ")")


# -- min-max fusion -------------------------------------------------------------------------
# The fixture: vectors [0,0], [1,0], [2,0], [3,0] (l2), so from [0, 0] the distances are
# 0, 1, 2, 3 and the vector parts (3 - d) / 3 are 1, 2/3, 1/3, 0.


def test_minmax_scores_by_hand(con):
    # 'red': docs 1 and 3 (equal BM25), all of the text candidates tie: text part 1.0 each
    want = [
        (1, 0.5 * 1 + 0.5 * 1, 1, 1),
        (3, 0.5 * (1 / 3) + 0.5 * 1, 3, 2),
        (2, 0.5 * (2 / 3), 2, None),
        (4, 0.0, 4, None),
    ]
    for _ in range(2):  # in the WAL tail, then folded into a segment
        got = rows(con, MINMAX + "[0, 0], 'red', 4, fusion := 'minmax', alpha := 0.5)")
        assert [(g[0], g[2], g[3]) for g in got] == [(w[0], w[2], w[3]) for w in want]
        assert [g[1] for g in got] == pytest.approx([w[1] for w in want])
        fold(con)


def test_minmax_default_alpha_and_lowest_text_candidate(con):
    # 'red apple': doc 1 matches both words; docs 2 and 3 one each (equal BM25), so the text
    # parts are 1, 0, 0: the lowest text candidate scores 0 for text, like a missing row.
    a = DEFAULT_ALPHA
    got = rows(con, MINMAX + "[0, 0], 'red apple', 4, fusion := 'minmax')")
    assert [(g[0], g[2], g[3]) for g in got] == [(1, 1, 1), (2, 2, 2), (3, 3, 3), (4, 4, None)]
    want = [a * 1 + (1 - a) * 1, a * (2 / 3), a * (1 / 3), 0.0]
    assert [g[1] for g in got] == pytest.approx(want)


def test_minmax_rows_missing_from_a_branch_and_ties_by_key(con):
    # window 2. Vector from [3, 0]: doc 4 (d 0) part 1, doc 3 (d 1) part 0. Text 'apple':
    # docs 1 and 2, tied, part 1 each. alpha 0.5: docs 1, 2 and 4 all score exactly 0.5.
    got = rows(
        con,
        MINMAX + "[3, 0], 'apple', 10, fusion := 'minmax', alpha := 0.5, \"window\" := 2)",
    )
    assert got == [(1, 0.5, None, 1), (2, 0.5, None, 2), (4, 0.5, 1, None), (3, 0.0, 2, None)]


def test_minmax_single_candidate_branches_give_one(con):
    # window 1: each branch has one candidate, which ties with itself: part 1.0
    got = rows(
        con,
        MINMAX + "[0, 0], 'blue', 10, fusion := 'minmax', alpha := 0.3, \"window\" := 1)",
    )
    assert [(g[0], g[2], g[3]) for g in got] == [(4, None, 1), (1, 1, None)]
    assert [g[1] for g in got] == pytest.approx([0.7, 0.3])


def test_minmax_vector_ties_give_one(make_settings):
    with connection(make_settings) as c:
        _docs(c, [(1, "x", [1, 0]), (2, "y", [0, 1]), (3, "x y", [-1, 0])])
        # every vector is at distance 1 from [0, 0]: vector part 1.0 for each
        got = rows(c, MINMAX + "[0, 0], 'zzz', 10, fusion := 'minmax', alpha := 0.25)")
        assert [(g[0], g[2], g[3]) for g in got] == [(1, 1, None), (2, 2, None), (3, 3, None)]
        assert [g[1] for g in got] == pytest.approx([0.25, 0.25, 0.25])


def test_minmax_weights_filter_and_options(con):
    # filter id > 1: vector parts 2: 1, 3: 1/2, 4: 0; 'red' leaves doc 3 alone: text part 1.
    # weights multiply each branch's part; rrf_k has no say in min-max.
    got = rows(
        con,
        MINMAX + "[0, 0], 'red', 3, fusion := 'minmax', alpha := 0.5, weights := [3.0, 1.0], "
        "rrf_k := 1, filter := 'id > 1')",
    )
    assert [(g[0], g[2], g[3]) for g in got] == [(2, 1, None), (3, 2, 1), (4, 3, None)]
    assert [g[1] for g in got] == pytest.approx([0.5 * 3, 0.5 * 3 * 0.5 + 0.5 * 1, 0.0])
    # column, columns, mode and ef reach the branches: 'red apple' in AND mode is doc 1 only
    got = rows(
        con,
        MINMAX + "[0, 0], 'red apple', 4, fusion := 'MinMax', alpha := 0.5, "
        "\"column\" := 'emb', columns := 'title', mode := 'and', ef := 16)",
    )
    assert [(g[0], g[3]) for g in got] == [(1, 1), (2, None), (3, None), (4, None)]
    assert [g[1] for g in got] == pytest.approx([1.0, 1 / 3, 1 / 6, 0.0])


def test_minmax_lateral_normalises_each_query_alone(con):
    con.execute(
        "CREATE TEMP TABLE qs AS SELECT * FROM (VALUES (1, [0.0, 0]::FLOAT[], 'red'), "
        "(2, [10.0, 0]::FLOAT[], 'sky')) v(qid, vec, txt)"
    )
    # query 2: distances 10, 9, 8, 7 -> doc 4's vector part is 1 within its own candidates
    got = rows(
        con,
        "SELECT q.qid, r.id, r._score FROM qs q, LATERAL hybrid_search('docs', q.vec, q.txt, 1, "
        "fusion := 'minmax', alpha := 0.5) r ORDER BY q.qid",
    )
    assert [g[:2] for g in got] == [(1, 1), (2, 4)]
    assert [g[2] for g in got] == pytest.approx([1.0, 1.0])


WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]


@pytest.mark.parametrize("alpha", [0, 1])
def test_minmax_alpha_ends_are_the_pure_branch_orders(make_settings, alpha):
    rng = random.Random(7)
    with connection(make_settings) as c:
        c.execute(
            "CREATE TABLE docs (id BIGINT PRIMARY KEY, title TEXT, emb FLOAT[4]) "
            "WITH (full_text = 'title', metric = 'cosine')"
        )
        c.executemany(
            "INSERT INTO docs VALUES (?, ?, ?)",
            [
                (i, " ".join(rng.choices(WORDS, k=rng.randint(1, 6))), rng_vector(rng))
                for i in range(60)
            ],
        )
        q, text = rng_vector(rng), "alpha beta gamma"
        got = rows(
            c,
            "SELECT id, _score, _vector_rank, _text_rank FROM hybrid_search('docs', $1, $2, 100, "
            "fusion := 'minmax', alpha := $3, \"window\" := 25)",
            [q, text, alpha],
        )
        scores = [g[1] for g in got]
        assert scores == sorted(scores, reverse=True)
        if alpha == 1:
            pure = rows(
                c, "SELECT id FROM vector_search('docs', $1, 25) ORDER BY _distance, id", [q]
            )
            ranks = [(g[0], g[2]) for g in got if g[2] is not None]
        else:
            by_text = "SELECT id FROM text_search('docs', $1, 25) ORDER BY _score DESC, id"
            pure = rows(c, by_text, [text])
            ranks = [(g[0], g[3]) for g in got if g[3] is not None]
        assert len(pure) == 25
        # the branch's rows keep its order and ranks; every other row scores 0
        assert ranks == [(p[0], i) for i, p in enumerate(pure, 1)]
        assert all(g[1] == 0 for g in got if (g[2] if alpha == 1 else g[3]) is None)
        # so the rows that score above 0 are the branch's own top rows, in its order
        positive = [g[0] for g in got if g[1] > 0]
        assert len(positive) >= 10
        assert positive == [p[0] for p in pure[: len(positive)]]
        assert got[0][1] == pytest.approx(1.0)


def rng_vector(rng: random.Random) -> list[float]:
    return [rng.uniform(-1, 1) for _ in range(4)]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("fusion := 'borda'", "fusion must be 'rrf' or 'minmax', not 'borda'"),
        ("fusion := NULL", "fusion must be 'rrf' or 'minmax', not NULL"),
        ("fusion := 'minmax', alpha := 1.5", "alpha must be between 0 and 1, not 1.5"),
        ("fusion := 'minmax', alpha := -0.25", "alpha must be between 0 and 1, not -0.25"),
        ("fusion := 'minmax', alpha := NULL", "alpha must be between 0 and 1, not NULL"),
        ("alpha := 2", "alpha must be between 0 and 1, not 2"),
    ],
)
def test_fusion_and_alpha_errors(con, option, message):
    with pytest.raises(errors.InvalidParameterValue) as info:
        rows(con, f"SELECT * FROM hybrid_search('docs', [0, 0], 'red', 3, {option})")
    assert info.value.sqlstate == "22023"
    assert info.value.message == message


def test_fusion_error_with_a_parameter_and_in_lateral(con):
    with pytest.raises(errors.InvalidParameterValue, match="not 'max'"):
        rows(con, "SELECT * FROM hybrid_search('docs', [0, 0], 'red', 3, fusion := $1)", ["max"])
    con.execute("CREATE TEMP TABLE qs AS SELECT [0.0, 0]::FLOAT[] AS vec, 1.01 AS a")
    with pytest.raises(errors.InvalidParameterValue, match="alpha must be between 0 and 1"):
        rows(
            con,
            "SELECT r.id FROM qs q, LATERAL hybrid_search('docs', q.vec, 'red', 3, "
            "fusion := 'minmax', alpha := q.a) r",
        )
