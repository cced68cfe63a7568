"""RETURNING and COPY FROM STDIN at a member that does not own the namespace are run by the
owner and answered as the owner answers them: the same rows (text and binary results),
column types, command tags and SQLSTATEs (decision 0084). On a moto bucket and on SeaweedFS
(marked)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import pytest

from elacsym_sql.cluster import owner
from tests.cluster.nodes import BACKENDS, Node, a_and_b

WIRE = 'elacsym_forwarded_writes_total{door="wire"}'
APPENDED = 'elacsym_wal_appends_total{result="committed"}'
COLUMNS = (
    "id BIGINT PRIMARY KEY, v TEXT, n NUMERIC(10,2), f DOUBLE, at TIMESTAMPTZ, tags TEXT[], "
    "e vector(2), j JSONB"
)
ROW = "(%s, 'x y', 12.5, 0.1, '2026-01-02 03:04:05+00', ARRAY['a','b c'], '[1,2.5]', '{\"k\": 1}')"


def _owned_by_b(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(200) if owner(f"{prefix}{i}", ["a", "b"]) == "b"][:count]


def _answer(conn: psycopg.Connection[Any], sql: str, binary: bool) -> tuple[Any, ...]:
    """What a client sees of one statement: tag, row count, column types, rows."""
    cur = conn.cursor(binary=binary)
    cur.execute(sql)
    types = [(d.name, d.type_code) for d in cur.description or []]
    return cur.statusmessage, cur.rowcount, types, cur.fetchall() if cur.description else None


def _error(conn: psycopg.Connection[Any], sql: str) -> tuple[str | None, str | None]:
    try:
        conn.execute(sql)
    except psycopg.Error as exc:
        return exc.sqlstate, exc.diag.message_primary
    raise AssertionError(f"{sql!r} did not fail")


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_returning_and_copy_go_to_the_owner(make_settings, tmp_path):
    via_a, at_b = _owned_by_b("r", 2)  # the same statements through a, and at b itself
    with a_and_b(make_settings(), tmp_path) as (a, b):
        for name in (via_a, at_b):
            a.sql(f"CREATE TABLE {name} ({COLUMNS})")  # DDL: at b (decision 0090)
        _returning(a, b, via_a, at_b)
        _copy(a, b, via_a, at_b)
        assert a.metric(APPENDED) == 0  # a wrote nothing itself
        assert a.sql(f"SELECT * FROM {via_a} ORDER BY id") == b.sql(
            f"SELECT * FROM {at_b} ORDER BY id"
        )


def _returning(a: Node, b: Node, via_a: str, at_b: str) -> None:
    statements = [
        "INSERT INTO {t} VALUES " + ROW % 1 + ", " + ROW % 2 + " RETURNING *",
        "INSERT INTO {t} VALUES " + ROW % 3 + " RETURNING id * 2 AS twice, v, e, tags",
        "UPDATE {t} SET v = upper(v), n = n + 1 WHERE id <= 2 RETURNING id, v, n, at",
        "DELETE FROM {t} WHERE id = 3 RETURNING j, f",
        "DELETE FROM {t} WHERE id = 99 RETURNING id",  # no rows: still the columns, DELETE 0
    ]
    forwarded = a.metric(WIRE)
    with a.connect() as ca, b.connect() as cb:
        for binary in (False, True):
            for sql in statements:
                if binary:  # the rows again, read in binary; written anew for INSERT
                    sql = sql.replace("VALUES (1,", "VALUES (11,").replace("(2,", "(12,")
                    sql = sql.replace("(3,", "(13,").replace("id = 3", "id = 13")
                mine = _answer(ca, sql.replace("{t}", via_a), binary)
                theirs = _answer(cb, sql.replace("{t}", at_b), binary)
                assert mine == theirs, sql
                assert mine[3] is not None and mine[2], sql
        # An error of a write with RETURNING is the owner's.
        bad = "INSERT INTO {t} (id, v) VALUES ('one', 'x') RETURNING id"
        mine = _error(ca, bad.replace("{t}", via_a))
        theirs = _error(cb, bad.replace("{t}", at_b))
        assert mine == (theirs[0], (theirs[1] or "").replace(at_b, via_a)), (mine, theirs)
        assert mine[0] == "22P02", mine
        # Prepared (Parse, Describe here; Bind, Execute forwarded): the columns described
        # here carry the owner's rows, in text and binary, as the owner's own answers.
        answers = []
        for conn, name in ((ca, via_a), (cb, at_b)):
            sql = f"INSERT INTO {name} (id, n, e) VALUES (%s, %s, %s) RETURNING id, n, e"
            for binary in (False, True):
                cur = conn.cursor(binary=binary)
                for i in range(100 + 10 * binary, 106 + 10 * binary):
                    cur.execute(sql, [i, "1.5", "[1,2]"], prepare=True)
                    answers.append((name, cur.fetchall()))
        half = len(answers) // 2
        assert [rows for _, rows in answers[:half]] == [rows for _, rows in answers[half:]]
        assert answers[0][1] == [(100, Decimal("1.50"), "[1,2]")]
    assert a.metric(WIRE) == forwarded + 2 * len(statements) + 1 + 12


def _copy(a: Node, b: Node, via_a: str, at_b: str) -> None:
    forwarded = a.metric(WIRE)
    text = (
        '20\ttab\t1.25\t2.5\t2026-03-04 05:06:07+00\t{p,q}\t[3,4]\t{"z": [1]}\n'
        + "\t".join(["21"] + ["\\N"] * 7)
        + "\n"
    )
    csv = '30,"a,b",2,3,2026-01-01 00:00:00+00,"{x}","[5,6]","{""q"": 2}"\n'
    with a.connect() as ca, b.connect() as cb:
        for conn, name in ((ca, via_a), (cb, at_b)):
            with conn.cursor() as cur:
                with cur.copy(f"COPY {name} FROM STDIN") as copy:
                    copy.write(text)
                assert (cur.statusmessage, cur.rowcount) == ("COPY 2", 2)
                with cur.copy(
                    f"COPY {name} (id, v, n, f, at, tags, e, j) FROM STDIN (FORMAT csv)"
                ) as copy:
                    copy.write(csv)
                assert cur.statusmessage == "COPY 1"
                with cur.copy(f"COPY {name} (id, v) FROM STDIN (FORMAT binary)") as copy:
                    copy.set_types(["int8", "text"])
                    copy.write_row((40, "binary row"))
                assert cur.statusmessage == "COPY 1"
        # Bad data: the owner's error, and nothing written (one atomic write).
        bad = "50\tok\nfifty\tnot a number\n"
        errors = []
        for conn, name in ((ca, via_a), (cb, at_b)):
            try:
                with conn.cursor().copy(f"COPY {name} (id, v) FROM STDIN") as copy:
                    copy.write(bad)
            except psycopg.Error as exc:
                message = (exc.diag.message_primary or "").replace(name, "{t}")
                errors.append((exc.sqlstate, message))
        assert len(errors) == 2 and errors[0] == errors[1] and errors[0][0] != "XX000", errors
    assert a.metric(WIRE) == forwarded + 4  # three copies and the refused one
    assert a.sql(f"SELECT count(*) FROM {via_a} WHERE id BETWEEN 20 AND 99") == [(4,)]
