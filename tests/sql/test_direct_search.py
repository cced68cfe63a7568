"""Plain search statements take the direct path (no DuckDB); they must return exactly what
the general path returns: the same rows, Python values, description, DataFrame and Arrow."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from elacsym_sql import errors
from elacsym_sql.sql.search.direct import recognise
from tests.helpers import connection, fold

DIM = 4


@pytest.fixture
def con(make_settings):
    with connection(make_settings) as c:
        c.execute(
            "CREATE TABLE d (id UUID PRIMARY KEY, title TEXT, body TEXT, tags TEXT[], "
            "price DOUBLE, n INTEGER, meta JSON, at TIMESTAMP, day DATE, ok BOOLEAN, "
            f"refs UUID[], emb FLOAT[{DIM}]) "
            "WITH (metric = 'l2', full_text = 'title, body')"
        )
        rng = np.random.default_rng(3)
        words = ["object", "storage", "write", "ahead", "log", "vector", "search", "it's"]
        rows = []
        for i in range(120):
            rows.append(
                (
                    str(uuid.UUID(int=i + 1)),
                    f"title {words[i % 8]} {i}",
                    " ".join(rng.choice(words, 6)),
                    [words[i % 3], words[i % 5]] if i % 7 else None,
                    float(i % 13),
                    i,
                    f'{{"i": {i}}}',
                    f"2024-01-{1 + i % 28:02d} 10:00:00",
                    f"2024-02-{1 + i % 28:02d}",
                    i % 2 == 0,
                    [str(uuid.UUID(int=i + 1000))],
                    rng.normal(size=DIM).round(3).tolist() if i % 11 else None,
                )
            )
        c.executemany("INSERT INTO d VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows[:80])
        fold(c, "d")
        c.executemany("INSERT INTO d VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows[80:])
        c.execute("DELETE FROM d WHERE n IN (3, 85)")
        yield c


Q = [0.1, -0.2, 0.3, 0.05]
DIRECT = [
    ("SELECT * FROM vector_search('d', ?, 10)", [Q]),
    ("SELECT id, title, _distance FROM vector_search('d', $1, 7) ORDER BY _distance", [Q]),
    ("select ID, _distance from vector_search('d', $1::float4[], 5, ef := 40) limit 3", [Q]),
    ("SELECT id FROM vector_search('d', [0.1, -0.2, 0.3, 0.05]::FLOAT[4], 6, exact := true)", []),
    ("SELECT id, n FROM vector_search('d', ?, 10, filter := 'n % 2 = 0 AND price < 9')", [Q]),
    ("SELECT id, emb FROM vector_search('d', ?, 4, column := 'emb')", [Q]),
    ("SELECT id FROM vector_search('d', ?, 4, \"column\" => 'emb')", [Q]),
    ("SELECT * FROM text_search('d', 'object storage', 10)", []),
    ("SELECT id, _score FROM text_search('d', ?, 5, mode := 'and') ORDER BY _score DESC", ["log"]),
    ("SELECT id, title FROM text_search('d', 'it''s', 5, columns := 'body');", []),
    ("SELECT id, _score FROM text_search('d', $1, 8, filter := 'ok') LIMIT 4", ["vector"]),
    ("SELECT * FROM hybrid_search('d', ?, 'object storage', 10)", [Q]),
    (
        "SELECT id, _score, _vector_rank, _text_rank FROM hybrid_search('d', $1, $2, 8, "
        "fusion := 'minmax', alpha := 0.3, window := 20, filter := 'n > 5') ORDER BY _score DESC",
        [Q, "log vector"],
    ),
    (
        "SELECT id, _score FROM hybrid_search('d', [0.1, -0.2, 0.3, 0.05], 'write', 5, "
        "rrf_k := 1, weights := [2.0, 0.5], \"window\" => 7, mode := 'and') LIMIT 3",
        [],
    ),
]


@pytest.mark.parametrize(("sql", "params"), DIRECT, ids=range(len(DIRECT)))
def test_direct_path_matches_the_general_path(con, sql, params):
    found = recognise(sql, params)
    assert found is not None and con.database.direct.run(found) is not None, "not direct"
    general = f"SELECT * FROM ({sql.rstrip(';')})"  # a subquery: never the direct path
    assert recognise(general, params) is None
    direct_cur = con.execute(sql, params)
    want_cur = con.cursor().execute(general, params)
    assert [d[:2] for d in direct_cur.description] == [d[:2] for d in want_cur.description]
    got, want = direct_cur.fetchall(), want_cur.fetchall()
    assert got == want and got
    assert [type(v) for v in got[0]] == [type(v) for v in want[0]]
    assert con.execute(sql, params).fetchdf().equals(con.execute(general, params).fetchdf())
    assert con.execute(sql, params).fetch_arrow_table() == con.execute(general, params).arrow()


def test_fetch_in_pieces(con):
    cur = con.execute("SELECT id FROM vector_search('d', ?, 6)", [Q])
    first = cur.fetchone()
    assert len(cur.fetchmany(2)) == 2
    assert len(cur.fetchall()) == 3
    assert cur.fetchone() is None and first is not None


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("SELECT id FROM vector_search('d', ?, 10) WHERE n > 3", [Q]),
        ("SELECT id, n + 1 FROM vector_search('d', ?, 10)", [Q]),
        ("SELECT id FROM vector_search('d', ?, 10) ORDER BY n", [Q]),
        ("SELECT id FROM vector_search('d', ?, ?)", [Q]),  # k not an integer parameter
        ("-- a comment\nSELECT id FROM vector_search('d', ?, 10)", [Q]),
        ("SELECT id FROM vector_search('d', ?::INT[], 10)", [Q]),
        ("SELECT id FROM vector_search('d', ?, 10)", [Q, 1]),  # a parameter too many
        ("SELECT id FROM vector_search('d', ?, 10)", ["[1, 2, 3, 4]"]),  # a string vector
        ("SELECT id FROM text_search('d', 'x', 10, nope := 1)", []),
    ],
)
def test_other_shapes_take_the_general_path(sql, params):
    assert recognise(sql, params) is None


def test_k_from_a_parameter_is_direct_when_it_is_an_integer():
    assert recognise("SELECT id FROM vector_search('d', ?, ?)", [Q, 5]) is not None


@pytest.mark.parametrize(
    ("sql", "params", "error"),
    [
        ("SELECT nope FROM vector_search('d', ?, 10)", [Q], errors.UndefinedColumn),
        ("SELECT id FROM vector_search('d', ?, 0)", [Q], errors.InvalidParameterValue),
        ("SELECT id FROM vector_search('d', ?, 10)", [[1.0, 2.0]], errors.DataError),
        ("SELECT id FROM vector_search('zz', ?, 10)", [Q], errors.UndefinedTable),
        ("SELECT id FROM vector_search('d', ?, 5, column := 'x')", [Q], errors.UndefinedColumn),
        (
            "SELECT id FROM vector_search('d', ?, 5, filter := 'nope > 1')",
            [Q],
            errors.UndefinedColumn,
        ),
        ("SELECT id FROM text_search('d', '', 5)", [], errors.InvalidParameterValue),
        ("SELECT id FROM hybrid_search('d', ?, 'x', 5, fusion := 'max')", [Q], errors.DataError),
        ("SELECT id FROM hybrid_search('d', ?, 'x', 5, alpha := 2)", [Q], errors.DataError),
    ],
)
def test_errors_match_the_general_path(con, sql, params, error):
    with pytest.raises(error) as direct:
        con.execute(sql, params).fetchall()
    with pytest.raises(error) as general:
        con.execute(f"SELECT * FROM ({sql})", params).fetchall()
    assert direct.value.sqlstate == general.value.sqlstate


def test_fresh_writes_are_seen_at_once(con):
    new = str(uuid.UUID(int=5000))
    con.execute(
        "INSERT INTO d (id, title, n, emb) VALUES (?, 'zebra crossing', -1, ?)",
        [new, Q],
    )
    assert con.execute("SELECT id FROM vector_search('d', ?, 1)", [Q]).fetchall() == [
        (uuid.UUID(new),)
    ]
    assert con.execute("SELECT n FROM text_search('d', 'zebra', 3)").fetchall() == [(-1,)]
    con.execute("DELETE FROM d WHERE id = ?", [new])
    assert con.execute("SELECT n FROM text_search('d', 'zebra', 3)").fetchall() == []
