"""Postgres's result shape over the wire (issue 8, item 4): command tags of utility
statements (never a result set), column names of unaliased expressions, integer division,
division by zero and out-of-range numbers, current_user and current_database().

Every expectation is written here, as PostgreSQL 15 answers; when the reference server on
127.0.0.1:5432 is reachable, the same statements also run there and must agree with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

REFERENCE = "host=127.0.0.1 port=5432 user=postgres password=postgres dbname=postgres"
RUN = uuid.uuid4().hex[:8]  # names objects the statements create, on both servers

# (statement, Postgres's command tag); none of them returns rows.
TAGS = [
    ("DROP TABLE IF EXISTS nothere", "DROP TABLE"),
    ("ANALYZE", "ANALYZE"),
    ("VACUUM", "VACUUM"),
    ("COMMENT ON TABLE docs IS 'the documents'", "COMMENT"),
    (f"CREATE SCHEMA s_{RUN}", "CREATE SCHEMA"),
    (f"DROP SCHEMA s_{RUN}", "DROP SCHEMA"),
    (f"CREATE VIEW v_{RUN} AS SELECT 1 AS a", "CREATE VIEW"),
    (f"DROP VIEW v_{RUN}", "DROP VIEW"),
    (f"DROP VIEW IF EXISTS v_{RUN}", "DROP VIEW"),
    ("SET application_name = 'shape'", "SET"),
    ("RESET application_name", "RESET"),
    ("CHECKPOINT", "CHECKPOINT"),
    (f"CREATE TEMP TABLE t_{RUN} (a INTEGER)", "CREATE TABLE"),
    (f"CREATE TEMP TABLE c_{RUN} AS SELECT 1 AS a UNION ALL SELECT 2", "SELECT 2"),
    (f"CREATE INDEX i_{RUN} ON t_{RUN} (a)", "CREATE INDEX"),
    (f"DROP INDEX i_{RUN}", "DROP INDEX"),
    (f"DROP TABLE t_{RUN}", "DROP TABLE"),
    (f"DROP TABLE c_{RUN}", "DROP TABLE"),
    ("CREATE INDEX ON docs (title)", "CREATE INDEX"),
    (f"CREATE INDEX d_{RUN} ON docs USING btree (price DESC)", "CREATE INDEX"),
    (f"DROP INDEX IF EXISTS d_{RUN}", "DROP INDEX"),
    ("DISCARD ALL", "DISCARD ALL"),  # last: Postgres resets search_path
]


@pytest.fixture(scope="module")
def reference() -> Iterator[psycopg.Connection | None]:
    """PostgreSQL 15 with a `docs` table like the server's, in a schema of this run; None
    when it is not reachable (the written expectations still apply)."""
    try:
        conn = psycopg.connect(REFERENCE, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        yield None
        return
    schema = f"shape_{RUN}"
    conn.execute(f"CREATE SCHEMA {schema}")
    conn.execute(f"SET search_path = {schema}")
    conn.execute(
        "CREATE TABLE docs (id BIGINT PRIMARY KEY, title TEXT, price DOUBLE PRECISION,"
        " embedding REAL[])"
    )
    conn.execute(
        "INSERT INTO docs VALUES (1, 'object storage engines', 1.5, '{1,0,0}'),"
        " (2, 'the beginning of search', NULL, '{0,1,0}'),"
        " (3, 'hybrid storage and search', 20.0, '{0.7,0.7,0}')"
    )
    try:
        yield conn
    finally:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


@pytest.fixture(scope="module")
def conn(dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(dsn, autocommit=True) as c:
        yield c


def _tags(conn: psycopg.Connection) -> list[tuple[str, str, bool]]:
    out = []
    for sql, _ in TAGS:
        cur = conn.execute(sql)
        out.append((sql, cur.statusmessage or "", cur.description is not None))
    conn.execute(f"SET search_path = shape_{RUN}, public")
    return out


def test_utility_statements_answer_with_their_tag(conn):
    assert _tags(conn) == [(sql, tag, False) for sql, tag in TAGS]


def test_tags_are_postgres_tags(reference):
    if reference is None:
        pytest.skip("PostgreSQL 15 is not reachable on 127.0.0.1:5432: compared above only")
    assert _tags(reference) == [(sql, tag, False) for sql, tag in TAGS]


def test_extensions(conn):
    assert conn.execute("CREATE EXTENSION IF NOT EXISTS vector").statusmessage == (
        "CREATE EXTENSION"
    )
    assert conn.execute("CREATE EXTENSION vector").statusmessage == "CREATE EXTENSION"
    names = conn.execute("SELECT extname FROM pg_extension ORDER BY 1").fetchall()
    assert ("vector",) in names
    with pytest.raises(psycopg.errors.FeatureNotSupported, match='extension "citext"'):
        conn.execute("CREATE EXTENSION IF NOT EXISTS citext")
    with pytest.raises(psycopg.errors.UndefinedObject, match='extension "citext"'):
        conn.execute("DROP EXTENSION citext")
    assert conn.execute("DROP EXTENSION IF EXISTS citext").statusmessage == "DROP EXTENSION"


def test_index_statements_are_checked(conn):
    with pytest.raises(psycopg.errors.UndefinedColumn):
        conn.execute("CREATE INDEX ON docs (nope)")
    with pytest.raises(psycopg.errors.UndefinedObject, match="access method"):
        conn.execute("CREATE INDEX ON docs USING nope (title)")
    with pytest.raises(psycopg.errors.UndefinedObject, match="not a vector"):
        conn.execute("CREATE INDEX ON docs USING hnsw (title vector_l2_ops)")
    with pytest.raises(psycopg.errors.UndefinedObject, match="operator class"):
        conn.execute("CREATE INDEX ON docs USING hnsw (embedding vector_nope_ops)")
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="unique"):
        conn.execute("CREATE UNIQUE INDEX ON docs ((lower(title)))")
    for sql in (
        "CREATE INDEX ON docs USING hnsw (embedding vector_cosine_ops)",
        "CREATE INDEX IF NOT EXISTS e ON docs USING hnsw (embedding vector_l2_ops)"
        " WITH (m = 16, ef_construction = 64)",
        "CREATE INDEX ON public.docs USING ivfflat (embedding vector_ip_ops) WITH (lists = 10)",
    ):
        assert conn.execute(sql).statusmessage == "CREATE INDEX"
    # Described (extended protocol) without binding in DuckDB, which has no such syntax.
    cur = conn.cursor()
    cur.execute("CREATE INDEX ON docs USING hnsw (embedding vector_cosine_ops)", prepare=True)
    assert cur.statusmessage == "CREATE INDEX" and cur.description is None


# (statement, Postgres's names of its result columns)
NAMES = [
    ("SELECT count(*) FROM docs", ["count"]),
    (
        "SELECT sum(price), max(price), min(price), avg(price) FROM docs",
        ["sum", "max", "min", "avg"],
    ),
    ("SELECT 1 + 1", ["?column?"]),
    ("SELECT version(), pg_catalog.version()", ["version", "version"]),
    ("SELECT current_database(), current_schema()", ["current_database", "current_schema"]),
    ("SELECT now(), current_user, session_user", ["now", "current_user", "session_user"]),
    (
        "SELECT 1::int4, CAST(1 AS bigint), 2.5::int, 'a'::text, 1::numeric(10,2),"
        " 1::double precision, '1'::varchar",
        ["int4", "int8", "int4", "text", "numeric", "float8", "varchar"],
    ),
    ("SELECT CASE WHEN true THEN 1 END", ["case"]),
    ("SELECT CASE WHEN id > 1 THEN 0 ELSE price END FROM docs", ["price"]),
    ("SELECT d.id, ID, id::text FROM docs d", ["id", "id", "id"]),
    (
        "SELECT lower(title), coalesce(price, 0), nullif(1, 2), greatest(1, 2) FROM docs",
        ["lower", "coalesce", "nullif", "greatest"],
    ),
    (
        "SELECT exists(SELECT 1), ARRAY[1, 2], (SELECT count(*) FROM docs)",
        ["exists", "array", "count"],
    ),
    ("SELECT 1 IN (1), -1, 'x', NULL, true, 'a' || 'b'", ["?column?"] * 6),
    ("SELECT extract(year FROM now())", ["extract"]),
    ("SELECT * FROM (VALUES (1, 2)) t", ["column1", "column2"]),
    ("VALUES (1, 2)", ["column1", "column2"]),
    ('SELECT count(*) AS Total, 1 AS "Bar"', ["total", "Bar"]),
    ("SELECT string_agg(title, ',') FROM docs", ["string_agg"]),
    ("SELECT row_number() OVER () FROM docs LIMIT 1", ["row_number"]),
    ("SELECT 1 UNION SELECT 2", ["?column?"]),
    ("SELECT date '2020-01-01', interval '1 day'", ["date", "interval"]),
    ("SELECT id, title FROM docs WHERE id = 1", ["id", "title"]),
    ("SELECT * FROM (SELECT count(*) FROM docs) s", ["count"]),
    ("WITH t AS (SELECT count(*), 1 + 1 FROM docs) SELECT * FROM t", ["count", "?column?"]),
]
# (statement, its one value): integer division truncates.
VALUES = [("SELECT 15 / 10", 1), ("SELECT -7 / 2", -3), ("SELECT 7 / 2.0", 3.5)]
# (statement, SQLSTATE, message)
ERRORS = [
    ("SELECT 1 / 0", "22012", "division by zero"),
    ("SELECT 1.5::float8 / 0", "22012", "division by zero"),
    ("SELECT 1 % 0", "22012", "division by zero"),
    ("SELECT 2147483647::int4 + 1", "22003", "integer out of range"),
    ("SELECT 9223372036854775807 + 1", "22003", "bigint out of range"),
    ("SELECT 32767::int2 + 1::int2", "22003", "smallint out of range"),
    ("SELECT '99999999999'::int4", "22003", 'value "99999999999" is out of range for type integer'),
    ("SELECT '1e999'::float8", "22003", '"1e999" is out of range for type double precision'),
    ("SELECT '1e39'::real", "22003", '"1e39" is out of range for type real'),
]


def _shape(conn: psycopg.Connection, prepare: bool = False) -> tuple[list, list, list]:
    names = [
        [d.name for d in conn.cursor().execute(sql, prepare=prepare).description or []]
        for sql, _ in NAMES
    ]
    values = [float(conn.execute(sql, prepare=prepare).fetchone()[0]) for sql, _ in VALUES]
    errors = []
    for sql, _, _ in ERRORS:
        try:
            conn.execute(sql, prepare=prepare)
            errors.append(None)
        except psycopg.Error as exc:
            errors.append((exc.sqlstate, exc.diag.message_primary))
    return names, values, errors


EXPECTED = (
    [names for _, names in NAMES],
    [float(v) for _, v in VALUES],
    [(state, message) for _, state, message in ERRORS],
)


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "prepared"])
def test_names_arithmetic_and_errors(conn, prepare):
    assert _shape(conn, prepare) == EXPECTED


def test_names_arithmetic_and_errors_are_postgres(reference):
    if reference is None:
        pytest.skip("PostgreSQL 15 is not reachable on 127.0.0.1:5432: compared above only")
    assert _shape(reference) == EXPECTED


def test_simple_protocol_names(dsn):
    """psql sends the simple protocol: the names come from the result there."""
    with psycopg.ClientCursor(psycopg.connect(dsn, autocommit=True)) as cur:
        cur.execute("SELECT count(*), 1 + 1 FROM docs")
        assert [d.name for d in cur.description] == ["count", "?column?"]


def test_the_user_and_database_of_the_session(wire):
    port = wire[0]
    for user, database in (("alice", "shop"), ("bob", None)):
        dsn = f"host=127.0.0.1 port={port} user={user}" + (
            f" dbname={database}" if database else ""
        )
        with psycopg.connect(dsn, autocommit=True) as c:
            row = c.execute(
                "SELECT current_user, session_user, user, current_database()"
            ).fetchone()
            assert row == (user, user, user, database or user)  # Postgres: dbname = user
            (listed,) = c.execute("SELECT datname FROM pg_database").fetchone()
            assert listed == (database or user)


def test_embedded_connection_names_like_postgres(wire):
    con = wire[1]
    cur = con.execute("SELECT count(*), sum(price), 1 + 1, 15 / 10 FROM docs")
    assert [d[0] for d in cur.description] == ["count", "sum", "?column?", "?column?"]
    assert cur.fetchall() == [(3, 21.5, 2, 1)]
    assert list(con.execute("SELECT count(*) FROM docs").df().columns) == ["count"]
    assert con.execute("SELECT count(*) FROM docs").arrow().column_names == ["count"]
