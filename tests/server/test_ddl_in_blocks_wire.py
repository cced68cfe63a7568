"""DDL inside transaction blocks through real clients (decision 0071): a psycopg block
that creates and drops tables and is rolled back (or whose connection closes) leaves the
tables as they were; a SQLAlchemy `engine.begin()` migration that fails halfway (as an
Alembic migration in a transaction) leaves no table behind, and `drop_all()` +
`create_all()` in one block commit. Run against PostgreSQL 15 too with
ELACSYM_CLIENT_TESTS_PG=1 (the expectations are its own)."""

from __future__ import annotations

import time

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import errors

from tests.server import clients

target = clients.target


def _tables(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE 'dw_%'"
    ).fetchall()
    return {name for (name,) in rows}


@pytest.fixture
def conn(target):
    with psycopg.connect(target.dsn, autocommit=True) as c:
        for name in ("dw_new", "dw_child", "dw_parent", "dw_kept", "dw_migrated"):
            c.execute(f"DROP TABLE IF EXISTS {name}")
        c.execute("CREATE TABLE dw_kept (id INT PRIMARY KEY, v TEXT)")
        c.execute("INSERT INTO dw_kept VALUES (1, 'a'), (2, 'b')")
        yield c


def test_psycopg_block_with_create_and_drop_rolled_back(conn):
    with pytest.raises(errors.NotNullViolation), conn.transaction():
        conn.execute("CREATE TABLE dw_new (id SERIAL PRIMARY KEY, v TEXT NOT NULL)")
        conn.execute("INSERT INTO dw_new (v) VALUES ('x')")
        conn.execute("DROP TABLE dw_kept")
        conn.execute("INSERT INTO dw_new (v) VALUES (NULL)")  # 23502: the block rolls back
    assert _tables(conn) == {"dw_kept"}
    assert conn.execute("SELECT * FROM dw_kept ORDER BY id").fetchall() == [(1, "a"), (2, "b")]


def test_a_connection_closed_inside_a_block_undoes_its_ddl(target, conn):
    other = psycopg.connect(target.dsn)  # not autocommit: psycopg opens a block
    other.execute("CREATE TABLE dw_new (id INT PRIMARY KEY)")
    other.execute("DROP TABLE dw_kept")
    other.close()  # without COMMIT: the server rolls the block back once it sees the close
    deadline = time.monotonic() + 30
    while _tables(conn) != {"dw_kept"} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _tables(conn) == {"dw_kept"}
    assert conn.execute("SELECT count(*) FROM dw_kept").fetchone() == (2,)


def test_sqlalchemy_migration_failing_halfway_leaves_nothing(target, conn):
    engine = sa.create_engine(target.url())
    meta = sa.MetaData()
    sa.Table("dw_migrated", meta, sa.Column("id", sa.Integer, primary_key=True))
    with pytest.raises(sa.exc.ProgrammingError), engine.begin() as c:
        meta.create_all(c)
        c.execute(sa.text("INSERT INTO dw_migrated (id) VALUES (1)"))
        c.execute(sa.text("ALTER TABLE dw_no_such_table ADD COLUMN x INT"))  # 42P01
    assert _tables(conn) == {"dw_kept"}
    engine.dispose()


def test_sqlalchemy_drop_all_and_create_all_in_one_block(target, conn):
    engine = sa.create_engine(target.url())
    meta = sa.MetaData()
    parent = sa.Table("dw_parent", meta, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "dw_child",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("parent_id", sa.ForeignKey("dw_parent.id")),
    )
    meta.create_all(engine)
    with engine.begin() as c:
        c.execute(parent.insert().values(id=1))
    with engine.begin() as c:  # drops child then parent, creates both again, fills one
        meta.drop_all(c)
        meta.create_all(c)
        c.execute(parent.insert().values(id=2))
    with engine.connect() as c:
        assert c.execute(sa.select(parent.c.id)).all() == [(2,)]
    meta.drop_all(engine)
    engine.dispose()
