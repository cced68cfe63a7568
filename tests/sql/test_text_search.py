"""text_search through SQL: BM25 over segments and the WAL tail, modes, filters, freshness."""

from __future__ import annotations

import pytest

from elacsym_sql import errors
from tests.helpers import compact, connection, fold, rows

DOCS = [
    (1, "Object storage", "S3 buckets hold objects", 1.0),
    (2, "Write ahead log", "the write ahead log makes writes durable", 2.0),
    (3, "Storage engines", "LSM trees and object stores", 3.0),
    (4, "Vector search", "nearest neighbours in high dimensions", 4.0),
    (5, "Full text search", "BM25 ranks documents for a query", 5.0),
]


@pytest.fixture
def con(make_settings):
    with connection(make_settings) as c:
        c.execute(
            "CREATE TABLE docs (id BIGINT PRIMARY KEY, title TEXT, body TEXT, price DOUBLE) "
            "WITH (full_text = 'title, body')"
        )
        yield c


def _search(con, sql_tail: str, params=None):
    return rows(con, f"SELECT id, _score FROM text_search('docs', {sql_tail})", params)


def test_scores_are_the_same_in_the_tail_and_after_folds(con):
    con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", DOCS[:2])
    con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", DOCS[2:])
    unfolded = _search(con, "'object storage', 10")
    assert [i for i, _ in unfolded] == [1, 3]
    fold(con)
    assert _search(con, "'object storage', 10") == unfolded
    compact(con)
    assert _search(con, "'object storage', 10") == unfolded


def test_one_fold_or_many_give_the_same_scores(make_settings):
    results = []
    for batches in ([DOCS], [[d] for d in DOCS]):
        with connection(make_settings) as c:
            c.execute("DROP TABLE IF EXISTS docs")
            c.execute(
                "CREATE TABLE docs (id BIGINT PRIMARY KEY, title TEXT, body TEXT, price DOUBLE)"
                " WITH (full_text = 'title, body')"
            )
            for batch in batches:
                c.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", batch)
                fold(c)
            results.append(rows(c, "SELECT id, _score FROM text_search('docs', 'search', 10)"))
    assert results[0] == results[1] and len(results[0]) == 2


def test_writes_are_searchable_at_once(con):
    con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", DOCS)
    fold(con)
    con.execute("INSERT INTO docs VALUES (6, 'object lessons', 'objects everywhere', 6)")
    assert 6 in [i for i, _ in _search(con, "'objects', 10")]
    con.execute("DELETE FROM docs WHERE id = 1")
    assert 1 not in [i for i, _ in _search(con, "'objects', 10")]
    con.execute("UPDATE docs SET title = 'nothing here', body = 'gone' WHERE id = 3")
    assert 3 not in [i for i, _ in _search(con, "'object stores', 10")]


def test_modes_columns_filters_and_rows(con):
    con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", DOCS)
    assert [i for i, _ in _search(con, "'\"write ahead log\"', 10, mode := 'phrase'")] == [2]
    assert [i for i, _ in _search(con, "'object storage', 10, mode := 'and'")] == [1, 3]
    assert _search(con, "'log objects', 10, mode := 'and'") == []
    assert len(_search(con, "'log objects', 10")) == 3
    assert [i for i, _ in _search(con, "'storage', 10, columns := 'body'")] == []
    assert [i for i, _ in _search(con, "'storage', 10, filter := 'price > 2'")] == [3]
    got = rows(con, "SELECT id, title, price FROM text_search('docs', 'vector', 1)")
    assert got == [(4, "Vector search", 4.0)]
    for text in ["object: (storage", '"unbalanced', "AND OR NOT", "a:b:c"]:
        _search(con, "?, 5", [text])  # people's words are never a syntax error


def test_bad_text_search_arguments(con):
    con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", DOCS)
    for sql, state in [
        ("SELECT * FROM text_search('docs', 'x', 0)", "22023"),
        ("SELECT * FROM text_search('docs', '', 5)", "22023"),
        ("SELECT * FROM text_search('docs', 'x', 5, mode := 'fuzzy')", "22023"),
        ("SELECT * FROM text_search('docs', 'title:(', 5, mode := 'query')", "42601"),
        ("SELECT * FROM text_search('docs', 'x', 5, columns := 'price')", "42703"),
        ("SELECT * FROM text_search('nope', 'x', 5)", "42P01"),
    ]:
        with pytest.raises(errors.ElacsymError) as info:
            con.execute(sql)
        assert info.value.sqlstate == state, (sql, info.value)


def test_snippets_highlight_matches(con):
    con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", DOCS)
    con.execute("INSERT INTO docs VALUES (9, 'none', NULL, 0)")
    got = rows(
        con,
        "SELECT id, elacsym_snippet('docs', 'body', 'objects storage', body) "
        "FROM text_search('docs', 'objects storage', 1)",
    )
    assert got == [(1, "S3 buckets hold <b>objects</b>")]
    assert rows(
        con,
        "SELECT elacsym_snippet('docs', 'body', 'zebra', body) FROM docs "
        "WHERE id IN (4, 9) ORDER BY id",
    ) == [("nearest neighbours in high dimensions",), (None,)]
    with pytest.raises(errors.UndefinedColumn):
        con.execute("SELECT elacsym_snippet('docs', 'price', 'x', price) FROM docs")


@pytest.mark.parametrize(
    "write",
    [
        "INSERT INTO docs VALUES (1, 'Object storage', 'S3 buckets hold objects', 1.0)",
        "UPDATE docs SET body = 'buckets' WHERE id = 1",
        "DELETE FROM docs WHERE id = 1",
    ],
)
def test_a_sql_write_is_in_the_live_text_index_when_it_returns(con, write):
    """The first text_search after a bulk write must not index it (issue 12: 0.8-6.8 s for
    5k documents): a SQL write applies itself as the engine's writes do (decision 0065)."""
    con.execute("INSERT INTO docs VALUES (1, 'a', 'b', 1.0), (2, 'c', 'd', 2.0)")
    con.execute(write)
    engine = con.database.engine
    assert engine.full_text.applied("docs") == engine.namespace("docs").snapshot().tail_seq
