"""Statements the SQL front door cannot parse: 42601 with the position (1-based, in
characters, as Postgres's P field; positions checked against PostgreSQL 15), no terminal
colour codes, no third-party exception types; placeholders with any spacing; sqlglot's
warnings (which quote client SQL) only at debug level. ELACSYM_FUZZ_EXAMPLES sets how
many texts the fuzz test tries."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elacsym_sql import errors
from tests.helpers import DOCS, connection, rows
from tests.sql_text import SQL_TEXT


@pytest.fixture
def con(make_settings):
    with connection(make_settings) as c:
        c.execute(DOCS)
        c.execute("INSERT INTO docs (id, title, embedding) VALUES (1, 'kept', [1, 0, 0, 0])")
        yield c


@pytest.mark.parametrize(
    "values",
    [
        "(?, ?),(?, ?)",
        "(?,?),(?,?)",
        "( ? , ? ) , ( ? , ? )",
        "(?,\n?),\n\t(?,?)",
        "($1,$2),($3,$4)",
        "( $1 , $2 ),( $3 , $4 )",
    ],
)
def test_placeholders_with_any_spacing(con, values):
    con.execute(f"INSERT INTO docs (id, title) VALUES{values}", [10, "a", 11, "b"])
    assert rows(con, "SELECT id, title FROM docs WHERE id >= 10 ORDER BY id") == [
        (10, "a"),
        (11, "b"),
    ]


def test_placeholders_glued_in_update_and_delete(con):
    con.execute("UPDATE docs SET title=? WHERE id=?", ["changed", 1])
    assert rows(con, "SELECT title FROM docs WHERE id=?", [1]) == [("changed",)]
    con.execute("DELETE FROM docs WHERE id IN(?,?)", [1, 2])
    assert rows(con, "SELECT count(*) FROM docs") == [(0,)]


@pytest.mark.parametrize(
    ("sql", "message", "position"),
    [
        # Postgres 15 answers these positions too.
        ("SELEC 1", 'syntax error at or near "SELEC"', 1),
        ("SELECT 1;\nSELEC 2", 'syntax error at or near "SELEC"', 11),
        ("SELECT 'üü' FRM x", 'syntax error at or near "x"', 17),
        ("SELECT 'abc", "unterminated string literal", 8),
        # DuckDB's parser decides the message; the position is where it points.
        ("SELECT * FROM docs WHERE", 'syntax error at or near "WHERE"', 20),
        ("UPDATE docs SET", 'syntax error at or near "SET"', 13),
        ("INSERT INTO docs VALUES (5, 'x'", "syntax error at or near \"'x'\"", 29),
        ("SELECT (1", 'syntax error at or near "1"', 9),
    ],
)
def test_a_syntax_error_carries_its_position(con, sql, message, position):
    with pytest.raises(errors.SyntaxError) as failed:
        con.execute(sql)
    assert failed.value.sqlstate == "42601"
    assert failed.value.message == message
    assert failed.value.position == position
    assert failed.value.detail is None  # DuckDB's drawing of the place is not repeated


def test_a_semantic_error_has_no_position(con):
    with pytest.raises(errors.SyntaxError) as failed:
        con.execute("SELECT 1; SELECT 2", [1])
    assert failed.value.position is None


@pytest.mark.parametrize("filter_sql", ["id >", "id IN (", "title = 'unterminated", "((id = 1)"])
def test_a_bad_filter_names_the_place_without_colour_codes(con, filter_sql):
    sql = "SELECT id FROM vector_search('docs', [1, 0, 0, 0], 2, filter := ?)"
    with pytest.raises(errors.SyntaxError) as failed:
        con.execute(sql, [filter_sql])
    assert failed.value.message.startswith("invalid filter: syntax error")
    assert "\x1b" not in str(failed.value) and "sqlglot" not in str(failed.value)


def test_sqlglot_warnings_stay_at_debug_level(con, caplog):
    """sqlglot logs 'SHOW search_path contains unsupported syntax' with the statement.
    Each text is new: statements are parsed once per text."""
    caplog.set_level(logging.INFO)
    con.execute(f"SHOW search_path -- {uuid.uuid4()}")
    assert not [r for r in caplog.records if r.name == "sqlglot"]
    caplog.set_level(logging.DEBUG, logger="sqlglot")
    con.execute(f"SHOW search_path -- {uuid.uuid4()}")
    quoted = [r for r in caplog.records if r.name == "sqlglot" and "search_path" in r.message]
    assert quoted and all(r.levelno == logging.DEBUG for r in quoted)


# -- any text ------------------------------------------------------------------------------


@settings(
    max_examples=int(os.environ.get("ELACSYM_FUZZ_EXAMPLES", "150")), deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(sql=SQL_TEXT, nparams=st.integers(0, 3))
def test_any_text_fails_only_with_our_errors(con, sql, nparams):
    try:
        con.execute(sql, [1] * nparams or None)
    except errors.ElacsymError as exc:
        assert "\x1b" not in exc.message
        if exc.position is not None:
            assert exc.sqlstate == "42601" and 1 <= exc.position <= len(sql) + 1
    finally:
        with contextlib.suppress(errors.ElacsymError):
            con.execute("ROLLBACK")  # out of a transaction block the text may have begun
