"""The schemas ORMs emit, over the wire: SQLAlchemy Core and ORM (a default declarative
model with an Integer key and a relationship through a ForeignKey) and psycopg."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    inspect,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, declarative_base, relationship


@pytest.fixture(scope="module")
def url(wire):
    return f"postgresql+psycopg://tester@127.0.0.1:{wire[0]}/elacsym"


def test_orm_model_with_integer_key_and_relationship(url):
    base = declarative_base()

    class Parent(base):  # type: ignore[misc, valid-type]
        __tablename__ = "orm_parent"
        id = Column(Integer, primary_key=True)
        name = Column(String, nullable=False, unique=True)
        children = relationship("Child", back_populates="parent")

    class Child(base):  # type: ignore[misc, valid-type]
        __tablename__ = "orm_child"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("orm_parent.id"), nullable=False)
        label = Column(String)
        parent = relationship("Parent", back_populates="children")

    engine = create_engine(url)
    try:
        base.metadata.create_all(engine)
        with Session(engine) as s:
            parent = Parent(name="p1", children=[Child(label="a"), Child(label="b")])
            s.add(parent)
            s.commit()
            assert parent.id == 1
            assert sorted(c.id for c in parent.children) == [1, 2]  # SERIAL via RETURNING
        with Session(engine) as s:
            got = s.scalars(select(Parent).where(Parent.name == "p1")).one()
            assert sorted(c.label for c in got.children) == ["a", "b"]
            s.add(Parent(name="p1"))
            with pytest.raises(IntegrityError) as info:
                s.commit()
            assert info.value.orig.sqlstate == "23505"
            s.rollback()
            s.add(Child(parent_id=999, label="orphan"))
            with pytest.raises(IntegrityError) as info:
                s.commit()
            assert info.value.orig.sqlstate == "23503"
            s.rollback()
            s.add(Parent(name="rolled back"))
            s.flush()
            s.rollback()
            assert s.scalars(select(Parent.name)).all() == ["p1"]
            assert s.scalars(select(Child.label).order_by(Child.id)).all() == ["a", "b"]
        columns = {c["name"]: c for c in inspect(engine).get_columns("orm_parent")}
        assert columns["id"]["default"] == "nextval('orm_parent_id_seq'::regclass)"
        assert columns["id"]["autoincrement"] is True
        assert inspect(engine).get_pk_constraint("orm_child")["constrained_columns"] == ["id"]
        [fk] = inspect(engine).get_foreign_keys("orm_child")
        assert (fk["constrained_columns"], fk["referred_table"], fk["referred_columns"]) == (
            ["parent_id"], "orm_parent", ["id"]
        )  # fmt: skip
        [unique] = inspect(engine).get_unique_constraints("orm_parent")
        assert unique["column_names"] == ["name"]
        base.metadata.drop_all(engine)
    finally:
        engine.dispose()


def test_core_composite_key_and_keyless_table(url):
    meta = MetaData()
    pairs = Table(
        "core_pairs",
        meta,
        Column("a", Integer, primary_key=True),
        Column("b", String, primary_key=True),
        Column("v", Integer),
    )
    log = Table("core_log", meta, Column("msg", String), Column("n", Integer))
    engine = create_engine(url)
    try:
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(pairs), [{"a": 1, "b": "x", "v": 1}, {"a": 1, "b": "y", "v": 2}])
            conn.execute(insert(log), [{"msg": "same", "n": 1}, {"msg": "same", "n": 1}])
        with engine.connect() as conn:
            assert conn.execute(select(pairs).order_by(pairs.c.b)).all() == [
                (1, "x", 1), (1, "y", 2)
            ]  # fmt: skip
            assert conn.execute(select(log)).all() == [("same", 1), ("same", 1)]
        assert inspect(engine).get_pk_constraint("core_pairs")["constrained_columns"] == [
            "a", "b"
        ]  # fmt: skip
        assert [c["name"] for c in inspect(engine).get_columns("core_log")] == ["msg", "n"]
        meta.drop_all(engine)
    finally:
        engine.dispose()


def test_psycopg_returning_constraints_and_truncate(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE pg_items (id BIGSERIAL PRIMARY KEY, sku TEXT UNIQUE NOT NULL,"
            " qty INT DEFAULT 0 CHECK (qty >= 0))"
        )
        cur = conn.execute("INSERT INTO pg_items (sku) VALUES ('a'), ('b') RETURNING id, qty")
        assert cur.fetchall() == [(1, 0), (2, 0)]
        assert cur.statusmessage == "INSERT 0 2"
        cur = conn.execute(
            "UPDATE pg_items SET qty = qty + %s WHERE sku = %s RETURNING qty", [3, "a"]
        )
        assert cur.fetchall() == [(3,)] and cur.statusmessage == "UPDATE 1"
        for sql, state in (
            ("INSERT INTO pg_items (sku, qty) VALUES ('c', -1)", "23514"),
            ("INSERT INTO pg_items (sku) VALUES (NULL)", "23502"),
            ("INSERT INTO pg_items (sku) VALUES ('a')", "23505"),
        ):
            with pytest.raises(psycopg.Error) as info:
                conn.execute(sql)
            assert info.value.sqlstate == state
        assert conn.execute("SELECT count(*) FROM pg_items").fetchone() == (2,)
        with conn.transaction():
            conn.execute("INSERT INTO pg_items (sku) VALUES ('in block')")
            assert conn.execute("SELECT currval('pg_items_id_seq')").fetchone()[0] >= 3
        cur = conn.execute("TRUNCATE pg_items")
        assert cur.statusmessage == "TRUNCATE TABLE"
        assert conn.execute("SELECT count(*) FROM pg_items").fetchone() == (0,)
        conn.execute("DROP TABLE pg_items")


def test_core_quoted_names(url):
    meta = MetaData()
    table = Table(
        "CamelCase Things",
        meta,
        Column("Id", Integer, primary_key=True),
        Column("Some Name!", String, nullable=False),
    )
    engine = create_engine(url)
    try:
        meta.create_all(engine)
        with engine.begin() as conn:
            ids = conn.execute(
                insert(table).returning(table.c.Id), [{"Some Name!": "a"}, {"Some Name!": "b"}]
            )
            assert sorted(r[0] for r in ids) == [1, 2]
        with engine.connect() as conn:
            got = conn.execute(select(table.c["Some Name!"]).order_by(table.c.Id)).scalars()
            assert got.all() == ["a", "b"]
        assert inspect(engine).has_table("CamelCase Things")
        names = [c["name"] for c in inspect(engine).get_columns("CamelCase Things")]
        assert names == ["Id", "Some Name!"]
        meta.drop_all(engine)
    finally:
        engine.dispose()
