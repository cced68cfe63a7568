"""The pgvector Python package as pgvector code uses it (`register_vector`, `vector(n)`,
distance operators), one test per behaviour issue 8 asks of it. With
ELACSYM_CLIENT_TESTS_PG=1 the PostgreSQL 15 run skips when pgvector is not installed there."""

from __future__ import annotations

import asyncio

import asyncpg
import numpy as np
import psycopg
import psycopg2
import pytest
import sqlalchemy as sa
from pgvector import Vector
from pgvector.asyncpg import register_vector as register_asyncpg
from pgvector.psycopg import register_vector
from pgvector.psycopg2 import register_vector as register_psycopg2
from pgvector.sqlalchemy import VECTOR
from sqlalchemy import orm

from tests.server import clients

target = clients.target

ITEMS = [(1, "a", [1.0, 0.0, 0.0]), (2, "a", [0.9, 0.1, 0.0]), (3, "b", [0.0, 1.0, 0.0]),
         (4, "a", [0.0, 0.0, 1.0]), (5, "b", [1.0, 0.1, 0.0])]  # fmt: skip
QUERY = np.array([1.0, 0.0, 0.0], dtype=np.float32)


def create_items(conn: psycopg.Connection, table: str) -> None:
    # explicit keys: SERIAL keys are tested with the other clients
    conn.execute(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, category TEXT, "
                 f"embedding vector(3))")  # fmt: skip
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {table} (id, category, embedding) VALUES (%s, %s, %s)",
                        [(id_, cat, np.array(vec)) for id_, cat, vec in ITEMS])  # fmt: skip


@pytest.fixture
def plain(target):
    with psycopg.connect(target.dsn, autocommit=True) as c:
        yield c


@pytest.fixture
def conn(target):
    with psycopg.connect(target.dsn, autocommit=True) as c:
        try:
            c.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error:
            if target.kind == "pg15":
                pytest.skip("pgvector is not installed in the reference PostgreSQL")
            raise
        register_vector(c)
        yield c


def test_psycopg_nearest_neighbours_with_and_without_filters(conn):
    create_items(conn, "pv_items")
    conn.execute("CREATE INDEX ON pv_items USING hnsw (embedding vector_l2_ops)")
    nearest = "SELECT id FROM pv_items ORDER BY embedding <-> %s LIMIT 2"
    assert conn.execute(nearest, (QUERY,)).fetchall() == [(1,), (5,)]
    filtered = "SELECT id FROM pv_items WHERE category = %s ORDER BY embedding <-> %s LIMIT 2"
    assert conn.execute(filtered, ("a", QUERY)).fetchall() == [(1,), (2,)]
    cosine = "SELECT id, embedding <=> %s AS distance FROM pv_items ORDER BY distance LIMIT 3"
    rows = conn.execute(cosine, (QUERY,)).fetchall()
    assert [r[0] for r in rows] == [1, 5, 2] and rows[0][1] == pytest.approx(0.0, abs=1e-6)
    inner = "SELECT id FROM pv_items ORDER BY embedding <#> %s LIMIT 1"
    assert conn.execute(inner, (np.array([1.0, 1.0, 0.0]),)).fetchall() == [(5,)]
    row = conn.execute("SELECT embedding FROM pv_items WHERE id = 2").fetchone()
    # pgvector 0.5 reads vectors as its Vector type (0.4 and older: numpy arrays)
    assert isinstance(row[0], Vector) and row[0].to_list() == pytest.approx([0.9, 0.1, 0.0])


def test_unknown_extensions_are_refused_naming_them(plain, target):
    if target.kind == "pg15":
        pytest.skip("PostgreSQL answers 58P01 (no control file); the issue asks 0A000 here")
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="postgis"):
        plain.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    assert plain.execute("CREATE EXTENSION IF NOT EXISTS vector").statusmessage == (
        "CREATE EXTENSION"
    )


def test_psycopg2_and_asyncpg_register_vector(conn, target):
    create_items(conn, "pv_drivers")
    with psycopg2.connect(target.dsn) as c2:
        register_psycopg2(c2)
        with c2.cursor() as cur:
            cur.execute("SELECT id, embedding FROM pv_drivers ORDER BY embedding <=> %s LIMIT 1",
                        (QUERY,))  # fmt: skip
            found = cur.fetchone()
            assert found[0] == 1 and isinstance(found[1], Vector)
            assert found[1].to_numpy().tolist() == [1.0, 0.0, 0.0]
    c2.close()

    async def main() -> list[int]:
        c = await asyncpg.connect(host=target.host, port=target.port, user=target.user,
                                  password=target.password, database=target.dbname)  # fmt: skip
        try:
            await register_asyncpg(c)
            rows = await c.fetch("SELECT id FROM pv_drivers WHERE category = $1 "
                                 "ORDER BY embedding <-> $2 LIMIT 2", "b", QUERY)  # fmt: skip
            return [r["id"] for r in rows]
        finally:
            await c.close()

    assert asyncio.run(main()) == [5, 3]


def test_sqlalchemy_vector_type(conn, target):
    class Base(orm.DeclarativeBase):
        pass

    class Doc(Base):
        __tablename__ = "pv_orm_docs"
        id = sa.Column(sa.Integer, primary_key=True)
        embedding = sa.Column(VECTOR(3))

    engine = sa.create_engine(target.url("psycopg"))
    try:
        Base.metadata.create_all(engine)
        with orm.Session(engine) as session:
            session.add_all([Doc(embedding=vec) for _id, _cat, vec in ITEMS])
            session.commit()
            near = session.scalars(
                sa.select(Doc).order_by(Doc.embedding.cosine_distance(QUERY)).limit(2)
            ).all()
            assert [d.id for d in near] == [1, 5]
            assert list(near[0].embedding) == [1.0, 0.0, 0.0]
    finally:
        engine.dispose()


def test_vector_columns_are_pgvector_typed_float_arrays_are_not(conn):
    conn.execute("CREATE TABLE pv_types (id BIGINT PRIMARY KEY, v vector(2), f REAL[])")
    conn.execute("INSERT INTO pv_types VALUES (1, '[1.5,2]', '{1.5,2}')")
    (vector_oid,) = conn.execute("SELECT oid FROM pg_type WHERE typname = 'vector'").fetchone()
    cur = conn.execute("SELECT v, f, v AS again FROM pv_types")
    assert [d.type_code for d in cur.description] == [vector_oid, 1021, vector_oid]
    cast = conn.execute("""SELECT '[1,2]'::vector, '{"a": 1}'::jsonb, '{}'::json""")
    assert [d.type_code for d in cast.description] == [vector_oid, 3802, 114]
    v, f, _ = cur.fetchone()
    assert isinstance(v, Vector) and v.to_list() == [1.5, 2.0] and f == [1.5, 2.0]
    with conn.cursor(binary=True) as binary:
        got = binary.execute("SELECT v FROM pv_types WHERE id = %s", [1]).fetchone()[0]
        assert got.to_list() == [1.5, 2.0]
    with conn.transaction(), conn.cursor("pv_named") as named:  # DECLARE ... FETCH
        named.execute("SELECT v, f FROM pv_types")
        fetched = named.fetchone()
        assert isinstance(fetched[0], Vector) and fetched[1] == [1.5, 2.0]
    assert conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                        "WHERE attrelid = 'pv_types'::regclass AND attname = 'v'"
                        ).fetchone() == ("vector(2)",)  # fmt: skip
