"""SQLAlchemy Core and ORM as a web application uses them (a default declarative model,
`Session.rollback()`), one test per behaviour issue 8 asks of it. The asyncpg dialect is not
covered: it needs greenlet, which is not installed. Run against PostgreSQL 15 too with
ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import orm

from tests.server import clients

target = clients.target


class Base(orm.DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "sa_authors"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(100), nullable=False, unique=True)
    books = orm.relationship("Book", back_populates="author", order_by="Book.id")


class Book(Base):
    __tablename__ = "sa_books"
    id = sa.Column(sa.Integer, primary_key=True)
    title = sa.Column(sa.String(200), nullable=False)
    price = sa.Column(sa.Numeric(8, 2))
    author_id = sa.Column(sa.Integer, sa.ForeignKey("sa_authors.id"), nullable=False)
    author = orm.relationship("Author", back_populates="books")


@pytest.fixture(scope="module")
def engine(target):
    eng = sa.create_engine(target.url("psycopg"))
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture(scope="module")
def model(engine):
    Base.metadata.create_all(engine)
    yield
    Base.metadata.drop_all(engine)


def test_orm_default_model_with_relationships(engine, model):
    with orm.Session(engine) as session:
        ann = Author(name="Ann", books=[Book(title="One", price=10), Book(title="Two")])
        session.add(ann)
        session.commit()
        assert ann.id is not None and [b.author_id for b in ann.books] == [ann.id] * 2
    with orm.Session(engine) as session:
        found = session.scalars(sa.select(Author).where(Author.name == "Ann")).one()
        assert [b.title for b in found.books] == ["One", "Two"]
        count = session.scalar(
            sa.select(sa.func.count()).select_from(Book).join(Author).where(Author.id == found.id)
        )
        assert count == 2


def test_session_rollback_after_an_integrity_error(engine, model):
    with orm.Session(engine) as session:
        session.add(Author(name="Bea"))
        session.commit()
        session.add(Author(name="Bea"))  # unique name
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()
        session.rollback()
        session.add(Book(title="orphan", author_id=999_999))  # foreign key
        with pytest.raises(sa.exc.IntegrityError):
            session.flush()
        session.rollback()
        bea = session.scalars(sa.select(Author).where(Author.name == "Bea")).one()
        bea.books.append(Book(title="Three"))
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(Author)
                              .where(Author.name == "Bea")) == 1  # fmt: skip


def test_rollback_discards_a_written_block(engine, model):
    with orm.Session(engine) as session:
        session.add(Author(name="Gone"))
        session.flush()  # written inside the block
        assert session.scalar(sa.select(sa.func.count()).where(Author.name == "Gone")) == 1
        session.rollback()
        assert session.scalar(sa.select(sa.func.count()).where(Author.name == "Gone")) == 0


def test_core_insert_returning_stream_results_and_reflection(engine, model):
    metadata = sa.MetaData()
    events = sa.Table("sa_events", metadata,
                      sa.Column("id", sa.Integer, primary_key=True),
                      sa.Column("kind", sa.String(20), index=True),
                      sa.Column("n", sa.Integer, server_default="0"))  # fmt: skip
    metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            rows = conn.execute(events.insert().returning(events.c.id, events.c.n),
                                [{"kind": f"k{i % 3}"} for i in range(50)])  # fmt: skip
            assert sorted(r.id for r in rows) == list(range(1, 51))
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=10).execute(
                sa.select(events.c.id).order_by(events.c.id)
            )
            assert [r.id for r in result] == list(range(1, 51))
        insp = sa.inspect(engine)
        assert insp.get_pk_constraint("sa_books")["constrained_columns"] == ["id"]
        fks = insp.get_foreign_keys("sa_books")
        assert [(fk["constrained_columns"], fk["referred_table"]) for fk in fks] == [
            (["author_id"], "sa_authors")
        ]
        assert [ix["column_names"] for ix in insp.get_indexes("sa_events")] == [["kind"]]
        assert isinstance(insp.get_columns("sa_events")[0]["type"], sa.INTEGER)
    finally:
        metadata.drop_all(engine)


@pytest.mark.parametrize("driver", ["psycopg2", "pg8000"])
def test_other_sync_dialects_round_trip_the_model(target, model, driver):
    eng = sa.create_engine(target.url(driver))
    try:
        with orm.Session(eng) as session:
            author = Author(name=f"via {driver}", books=[Book(title=driver, price=1.5)])
            session.add(author)
            session.commit()
            book = session.scalars(sa.select(Book).where(Book.title == driver)).one()
            assert book.author.name == f"via {driver}" and float(book.price) == 1.5
    finally:
        eng.dispose()


def test_views_are_reflected_in_their_schemas(engine, model):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA sa_reports")
        conn.exec_driver_sql(
            "CREATE VIEW sa_cheap AS SELECT id, title FROM sa_books WHERE price < 10"
        )
        conn.exec_driver_sql(
            "CREATE VIEW sa_reports.sa_counts AS SELECT count(*) AS n FROM sa_books"
        )
    try:
        inspector = sa.inspect(engine)
        assert "sa_cheap" in inspector.get_view_names()
        assert "sa_counts" not in inspector.get_view_names()
        assert inspector.get_view_names(schema="sa_reports") == ["sa_counts"]
        definition = inspector.get_view_definition("sa_cheap")
        assert "FROM sa_books" in definition and "price" in definition
        columns = inspector.get_columns("sa_counts", schema="sa_reports")
        assert [c["name"] for c in columns] == ["n"]
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP VIEW sa_reports.sa_counts")
            conn.exec_driver_sql("DROP VIEW sa_cheap")
            conn.exec_driver_sql("DROP SCHEMA sa_reports")
