"""Search arguments are what they claim: `filter :=` a predicate over the namespace's
columns, `column :=`/`columns :=` column names, `mode :=` a mode. Text that tries to run
other SQL through them (closing the parenthesis, subqueries, file functions, our own
UDFs, comments hiding the rest) is refused with a SQLSTATE, through the SQL table
functions and the direct path alike, and the namespace is unchanged afterwards."""

from __future__ import annotations

import pytest

from elacsym_sql import errors
from elacsym_sql.sql.search.pgvector_order import rewrite_nearest
from tests.helpers import DOCS, connection, rows

VECTOR = "SELECT id FROM vector_search('docs', [1, 0, 0, 0], 3, filter := ?) ORDER BY id"
TEXT = "SELECT id FROM text_search('docs', 'storage', 3, filter := ?) ORDER BY id"
HYBRID = "SELECT id FROM hybrid_search('docs', [1, 0, 0, 0], 'storage', 3, filter := ?)"
# A join makes DuckDB run the search (not the direct path).
IN_DUCKDB = (
    "SELECT s.id FROM vector_search('docs', [1, 0, 0, 0], 3, filter := ?) AS s "
    "JOIN docs USING (id) ORDER BY s.id"
)


@pytest.fixture
def con(make_settings):
    with connection(make_settings) as c:
        c.execute(DOCS)
        c.executemany(
            "INSERT INTO docs (id, title, tags, price, embedding) VALUES (?, ?, ?, ?, ?)",
            [
                (1, "object storage", ["a"], 1.0, [1, 0, 0, 0]),
                (2, "storage engines", ["b"], 5.0, [0.9, 0.1, 0, 0]),
                (3, "search storage", ["a", "b"], 9.0, [0, 1, 0, 0]),
            ],
        )
        yield c


@pytest.mark.parametrize("sql", [VECTOR, TEXT, IN_DUCKDB])
@pytest.mark.parametrize(
    ("filt", "expected"),
    [
        ("price > 2", [2, 3]),
        ("price BETWEEN 1 AND 5 AND id <> 2", [1]),
        ("list_contains(tags, 'a')", [1, 3]),
        ("'b' = ANY(tags)", [2, 3]),
        ("lower(title) LIKE '%engines' OR id IN (1)", [1, 2]),
        ("CASE WHEN price > 4 THEN true ELSE false END", [2, 3]),
        ("PRICE > 2 -- a comment", [2, 3]),
        ("docs.price::INTEGER = 9", [3]),
        ("len(list_filter(tags, x -> x = 'b')) > 0", [2, 3]),
    ],
)
def test_predicates_over_the_columns_work(con, sql, filt, expected):
    assert [r[0] for r in rows(con, sql, [filt])] == expected


@pytest.mark.parametrize("sql", [VECTOR, TEXT, HYBRID, IN_DUCKDB])
@pytest.mark.parametrize(
    ("filt", "sqlstate", "named"),
    [
        # Closing the WHERE's parenthesis to append a query.
        ("1=1) UNION SELECT id FROM docs WHERE (1=1", "42601", "syntax error"),
        ("1=1) UNION SELECT content FROM read_text('/etc/hostname') --", "42601", "syntax"),
        ("price > 1; DROP TABLE docs", "42601", "predicate, not a statement"),
        ("SELECT 1", "42601", "predicate, not a statement"),
        # Subqueries, wherever they hide.
        ("id IN (SELECT 1)", "0A000", "subqueries are not allowed"),
        ("EXISTS (SELECT * FROM glob('/*'))", "0A000", "subqueries are not allowed"),
        ("length((SELECT content FROM read_text('/etc/hostname'))) > 0", "0A000", "subqueries"),
        # Functions that are not DuckDB's built-in scalar functions.
        ("read_text('/etc/hostname') IS NOT NULL", "0A000", "function read_text"),
        ("glob('/etc/*') IS NOT NULL", "0A000", "function glob"),
        ("query('SELECT 1') IS NOT NULL", "0A000", "function query"),
        ("write_log('x') IS NULL", "0A000", "function write_log"),
        ("getvariable('x') IS NULL", "0A000", "function getvariable"),
        ("elacsym_vector_search__docs([1,0,0,0]) IS NULL", "0A000", "elacsym_vector_search"),
        ("count(*) > 0", "0A000", "function count"),
        # Names that are not the namespace's columns.
        ("nope > 1", "42703", 'column "nope"'),
        ("other.price > 1", "42P01", 'table "other"'),
        ("main.docs.price > 1", "42703", "main.docs.price"),
        ("price > $1", "0A000", "parameters"),
    ],
)
def test_other_sql_is_refused(con, sql, filt, sqlstate, named):
    with pytest.raises(errors.ElacsymError) as failed:
        con.execute(sql, [filt]).fetchall()
    assert failed.value.sqlstate == sqlstate, failed.value
    assert named in failed.value.message
    assert "\x1b" not in failed.value.message  # no terminal colour codes
    assert rows(con, "SELECT count(*) FROM docs") == [(3,)]


def test_a_comment_cannot_hide_the_rest_of_the_statement(con):
    # The filter DuckDB runs is written back from the checked tree, comments dropped: a
    # `*/` inside a comment cannot end it early.
    filt = "price > 100 -- */ OR true"
    assert rows(con, VECTOR, [filt]) == []


@pytest.mark.parametrize(
    ("sql", "sqlstate", "named"),
    [
        (
            "SELECT id FROM text_search('docs', 'storage', 3, columns := 'title) UNION SELECT 1')",
            "22023",
            "invalid columns entry",
        ),
        (
            "SELECT id FROM text_search('docs', 'storage', 3, columns := 'price')",
            "42703",
            "not a full-text column",
        ),
        (
            "SELECT id FROM vector_search('docs', [1,0,0,0], 3, column := 'x'' OR 1=1 --')",
            "42703",
            "does not exist",
        ),
        (
            "SELECT id FROM text_search('docs', 'storage', 3, mode := 'or; DROP TABLE docs')",
            "22023",
            "invalid text search mode",
        ),
        (  # a name quoted names may have (decision 0027): no such table, nothing run
            "SELECT id FROM vector_search('docs; DROP TABLE docs', [1,0,0,0], 3)",
            "42P01",
            'relation "docs; DROP TABLE docs" does not exist',
        ),
        (
            "SELECT id FROM vector_search('../docs', [1,0,0,0], 3)",
            "0A000",
            "must name a namespace",
        ),
    ],
)
def test_names_and_modes_are_checked_against_the_namespace(con, sql, sqlstate, named):
    with pytest.raises(errors.ElacsymError) as failed:
        con.execute(sql).fetchall()
    assert failed.value.sqlstate == sqlstate, failed.value
    assert named in failed.value.message
    assert rows(con, "SELECT count(*) FROM docs") == [(3,)]


def test_a_pgvector_where_that_is_no_filter_runs_in_duckdb(con):
    # ORDER BY <=> LIMIT runs as vector_search with the WHERE as its filter; a WHERE the
    # filter check refuses (a subquery) runs exactly in DuckDB instead, not as an error.
    sql = (
        "SELECT id FROM docs WHERE id IN (SELECT id FROM docs WHERE price > 2) "
        "ORDER BY embedding <=> ? LIMIT 1"
    )
    assert rows(con, sql, [[1.0, 0.0, 0.0, 0.0]]) == [(2,)]
    plain = "SELECT id FROM docs WHERE price > 2 ORDER BY embedding <=> ? LIMIT 1"
    assert rows(con, plain, [[1.0, 0.0, 0.0, 0.0]]) == [(2,)]


def test_a_pgvector_limit_past_the_search_bound_is_an_exact_scan(con):
    # vector_search returns at most 10,000 rows (k's bound); ORDER BY <=> with a larger
    # LIMIT is still a valid query: DuckDB scans exactly instead of refusing k.
    schema = con.database.views.refresh_one("docs").schema
    q = [[1.0, 0.0, 0.0, 0.0]]
    for limit in (10_000, 10_001):
        sql = f"SELECT id FROM docs ORDER BY embedding <=> ? LIMIT {limit}"
        searched = rewrite_nearest(sql, q, lambda name: schema) is not None
        assert searched == (limit == 10_000)
        assert rows(con, sql, q) == [(1,), (2,), (3,)]  # cosine: 1 is the query's own
