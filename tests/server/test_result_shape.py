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
        conn.execute("CREATE UNIQUE INDEX ON docs (title)")
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
