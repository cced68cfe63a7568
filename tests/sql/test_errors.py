"""Bad input: a clear error with its SQLSTATE, and nothing of the statement written."""

from __future__ import annotations

import pytest

import elacsym_sql
from elacsym_sql import errors
from elacsym_sql.layout import SCHEMAS
from tests.helpers import DOCS, connection, fold, rows


@pytest.fixture
def con(make_settings):
    with connection(make_settings) as c:
        c.execute(DOCS)
        c.execute("INSERT INTO docs (id, title, price) VALUES (1, 'kept', 1.0)")
        yield c


def _state(con) -> tuple:
    snap = con.database.engine.namespace("docs").snapshot()
    return snap.tail_seq, rows(con, "SELECT * FROM docs ORDER BY id")


BAD_WRITES = [
    # (statement, params, sqlstate, error class)
    ("INSERT INTO docs (id, embedding) VALUES (2, [1, 2, 3])", None, "22000", errors.InvalidVector),
    (
        "INSERT INTO docs (id, embedding) VALUES (2, ?)",
        [[1.0, float("nan"), 0.0, 0.0]],
        "22000",
        errors.InvalidVector,
    ),
    (
        "INSERT INTO docs (id, embedding) VALUES (2, ?)",
        [[1.0, float("inf"), 0.0, 0.0]],
        "22000",
        errors.InvalidVector,
    ),
    (
        "INSERT INTO docs (id, embedding) VALUES (2, [1, NULL, 0, 0])",
        None,
        "22000",
        errors.InvalidVector,
    ),
    ("INSERT INTO docs (id, nope) VALUES (2, 1)", None, "42703", errors.UndefinedColumn),
    (
        "INSERT INTO docs (id, price) VALUES (2, 'cheap')",
        None,
        "22P02",
        errors.InvalidTextRepresentation,
    ),
    ("INSERT INTO docs (id, price) VALUES (2, 1, 3)", None, "42601", errors.SyntaxError),
    ("INSERT INTO docs (id, title) VALUES (NULL, 'x')", None, "23502", errors.NotNullViolation),
    (
        "INSERT INTO docs (id, title) VALUES (2, 'a'), (2, 'b')",
        None,
        "23505",
        errors.UniqueViolation,
    ),
    ("UPDATE docs SET nope = 1 WHERE id = 1", None, "42703", errors.UndefinedColumn),
    ("UPDATE docs SET embedding = [1, 2] WHERE id = 1", None, "22000", errors.InvalidVector),
    ("UPDATE docs SET price = 'x' WHERE id = 1", None, "22P02", errors.InvalidTextRepresentation),
    ("UPDATE docs SET id = 5 WHERE id = 1", None, "0A000", errors.NotSupportedError),
    ("DELETE FROM docs WHERE nope > 1", None, "42703", errors.UndefinedColumn),
    ("INSERT INTO nope (id) VALUES (1)", None, "42P01", errors.UndefinedTable),
]


@pytest.mark.parametrize(
    ("sql", "params", "sqlstate", "cls"), BAD_WRITES, ids=[b[0][:50] for b in BAD_WRITES]
)
def test_bad_write_is_refused_and_writes_nothing(con, sql, params, sqlstate, cls):
    before = _state(con)
    with pytest.raises(cls) as info:
        con.execute(sql, params)
    assert info.value.sqlstate == sqlstate
    assert isinstance(info.value, elacsym_sql.Error)
    assert info.value.message
    assert _state(con) == before


def test_one_bad_row_refuses_the_whole_statement(con):
    before = _state(con)
    good = [(i, [0.1, 0.2, 0.3, 0.4]) for i in range(10, 20)]
    with pytest.raises(errors.InvalidVector) as info:
        con.executemany(
            "INSERT INTO docs (id, embedding) VALUES (?, ?)", [*good, (20, [0.1, 0.2, 0.3])]
        )
    assert "expected 4 dimensions, not 3" in info.value.message
    assert _state(con) == before


def test_bad_write_against_folded_data_writes_nothing(con):
    fold(con)
    before = _state(con)
    with pytest.raises(errors.InvalidVector):
        con.execute("UPDATE docs SET embedding = [1, 2, 3] WHERE id = 1")
    assert _state(con) == before


BAD_DDL = [
    ('CREATE TABLE "a/b" (id BIGINT PRIMARY KEY)', "42602"),
    ("CREATE TABLE " + "x" * 64 + " (id BIGINT PRIMARY KEY)", "42602"),
    ('CREATE TABLE t2 (".bad" BIGINT PRIMARY KEY)', "42602"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY, _distance DOUBLE)", "42939"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY, a INT, a INT)", "42701"),
    ("CREATE TABLE t2 (v FLOAT[3] PRIMARY KEY)", "42P16"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY, CHECK (nope > 0))", "42703"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY, n INT DEFAULT nope())", "42883"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY, p BIGINT REFERENCES never_made)", "42P01"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY, p BIGINT REFERENCES docs (title))", "42830"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY, x TEXT PRIMARY KEY)", "42P16"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY, v DOUBLE[3])", "0A000"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY, v FLOAT[0])", "42P16"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY, m MAP(TEXT, INT))", "0A000"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY) WITH (metric = 'hamming')", "22023"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY) WITH (language = 'klingon')", "22023"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY) WITH (k1 = -1)", "22023"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY) WITH (b = 2)", "22023"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY, t TEXT) WITH (full_text = 't', k1 = 2)", "0A000"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY) WITH (stemming = 'maybe')", "22023"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY) WITH (colour = 'red')", "22023"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY, n INT) WITH (full_text = 'n')", "42P16"),
    ("CREATE TABLE t2 (id BIGINT PRIMARY KEY) WITH (full_text = 'missing')", "42P16"),
    ("CREATE TABLE docs (id BIGINT PRIMARY KEY)", "42P07"),
    ("DROP TABLE never_made", "42P01"),
    ("ALTER TABLE docs ADD COLUMN extra TEXT", "0A000"),
    ("SELEC 1", "42601"),
    ("SELECT * FROM never_made", "42P01"),
    ("SELECT nope FROM docs", "42703"),
]


@pytest.mark.parametrize(("sql", "sqlstate"), BAD_DDL, ids=[b[0][:50] for b in BAD_DDL])
def test_bad_statement_has_its_sqlstate_and_touches_no_storage(con, sql, sqlstate):
    names = con.database.engine.list_namespaces()
    with pytest.raises(elacsym_sql.Error) as info:
        con.execute(sql)
    assert info.value.sqlstate == sqlstate, info.value
    assert con.database.engine.list_namespaces() == names
    assert rows(con, "SELECT id, title FROM docs") == [(1, "kept")]


def test_invalid_name_is_refused_before_storage_is_touched(make_settings, monkeypatch):
    with connection(make_settings) as c:
        store = c.database.engine.store
        calls: list[tuple[str, str]] = []
        for method in ("get", "get_with_etag", "get_range", "put", "put_if_absent",
                       "put_if_match", "exists", "list", "delete", "download"):  # fmt: skip
            real = getattr(store, method)

            def record(key, *args, _real=real, _method=method, **kwargs):
                calls.append((_method, key))
                return _real(key, *args, **kwargs)

            monkeypatch.setattr(store, method, record)
        with pytest.raises(errors.InvalidName):
            c.execute('CREATE TABLE "../escape" (id BIGINT PRIMARY KEY)')
        # Only the periodic re-listing of schemas (any statement may do it) may happen.
        assert all(call == ("list", SCHEMAS) for call in calls), calls


def test_multiple_statements_with_parameters_are_refused(con):
    with pytest.raises(errors.SyntaxError):
        con.execute("SELECT ?; SELECT ?", [1, 2])


def test_connection_stays_usable_after_errors(con):
    for sql, params, *_ in BAD_WRITES:
        with pytest.raises(elacsym_sql.Error):
            con.execute(sql, params)
    con.execute("INSERT INTO docs (id, title) VALUES (2, 'after')")
    assert rows(con, "SELECT id, title FROM docs ORDER BY id") == [(1, "kept"), (2, "after")]


@pytest.mark.parametrize(
    "sql, message, hint",
    [
        # Postgres's words and hint; DuckDB's would name the search function's internal macro
        (
            "SELECT id, score FROM text_search('docs', 'kept', k := 5)",
            'column "score" does not exist',
            'Perhaps you meant to reference the column "_score".',
        ),
        # DuckDB names no candidates here, so there is no hint (Postgres gives one)
        ("SELECT d.titel FROM docs d", "column d.titel does not exist", None),
        ("SELECT nothing_like_it FROM docs", 'column "nothing_like_it" does not exist', None),
    ],
)
def test_a_missing_column_is_worded_as_postgres(con, sql, message, hint):
    with pytest.raises(errors.UndefinedColumn) as raised:
        con.execute(sql)
    assert (raised.value.sqlstate, raised.value.message, raised.value.hint) == (
        "42703",
        message,
        hint,
    )
    assert raised.value.detail is None  # no LINE quoting the statement as rewritten
