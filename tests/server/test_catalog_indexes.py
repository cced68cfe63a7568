"""Indexes from CREATE [UNIQUE] INDEX in the catalog (decision 0032): psql's \\d and \\di,
SQLAlchemy's get_indexes / get_unique_constraints and pgJDBC's getIndexInfo show what they
show against PostgreSQL 15 for the same DDL (the expected lines were taken from it)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import sqlalchemy as sa

from .psql_client import psql

JDBC_JAR = "/usr/share/java/postgresql.jar"
DDL = [
    "CREATE TABLE ix_users (user_id INTEGER PRIMARY KEY, test1 TEXT NOT NULL,"
    " test2 DOUBLE PRECISION NOT NULL, q TEXT)",
    "CREATE UNIQUE INDEX ix_users_t_idx ON ix_users (test1, test2)",
    "CREATE INDEX ix_users_all_idx ON ix_users (user_id, test2, test1)",
    "CREATE INDEX ON ix_users (q DESC)",
    'CREATE TABLE "Mixed Case" (id BIGINT PRIMARY KEY, "Col A" TEXT, b TEXT UNIQUE)',
    """CREATE UNIQUE INDEX "ix quote ' one" ON "Mixed Case" ("Col A")""",
]


@pytest.fixture(scope="module")
def indexed(wire) -> int:
    port, con = wire
    for ddl in DDL:
        con.execute(ddl)
    return port


@pytest.mark.skipif(shutil.which("psql") is None, reason="no psql")
def test_psql_lists_indexes(indexed: int) -> None:
    users = psql(indexed, r"\d ix_users")
    assert users.split("Indexes:\n")[1].splitlines()[:4] == [
        '    "ix_users_pkey" PRIMARY KEY, btree (user_id)',
        '    "ix_users_all_idx" btree (user_id, test2, test1)',
        '    "ix_users_q_idx" btree (q DESC)',
        '    "ix_users_t_idx" UNIQUE, btree (test1, test2)',
    ]
    mixed = psql(indexed, r'\d "Mixed Case"')
    assert mixed.split("Indexes:\n")[1].splitlines()[:3] == [
        '    "Mixed Case_pkey" PRIMARY KEY, btree (id)',
        '    "Mixed Case_b_key" UNIQUE CONSTRAINT, btree (b)',
        """    "ix quote ' one" UNIQUE, btree ("Col A")""",
    ]
    listed = psql(indexed, r"\di ix_users*")
    names = [line.split("|")[1].strip() for line in listed.splitlines() if "| index |" in line]
    assert names == ["ix_users_all_idx", "ix_users_pkey", "ix_users_q_idx", "ix_users_t_idx"]


def test_sqlalchemy_reflects_indexes_and_unique_constraints(indexed: int) -> None:
    engine = sa.create_engine(f"postgresql+psycopg://tester@127.0.0.1:{indexed}/elacsym")
    try:
        insp = sa.inspect(engine)
        include = {"postgresql_include": []}
        assert insp.get_indexes("ix_users") == [
            {"name": "ix_users_all_idx", "unique": False,
             "column_names": ["user_id", "test2", "test1"], "dialect_options": include},
            {"name": "ix_users_q_idx", "unique": False, "column_names": ["q"],
             "column_sorting": {"q": ("desc",)}, "dialect_options": include},
            {"name": "ix_users_t_idx", "unique": True, "column_names": ["test1", "test2"],
             "dialect_options": include},
        ]  # fmt: skip
        assert insp.get_unique_constraints("ix_users") == []  # an index is no constraint
        assert insp.get_indexes("Mixed Case") == [
            {"name": "Mixed Case_b_key", "unique": True, "column_names": ["b"],
             "duplicates_constraint": "Mixed Case_b_key", "dialect_options": include},
            {"name": "ix quote ' one", "unique": True, "column_names": ["Col A"],
             "dialect_options": include},
        ]  # fmt: skip
        assert [u["name"] for u in insp.get_unique_constraints("Mixed Case")] == [
            "Mixed Case_b_key"
        ]
    finally:
        engine.dispose()


JAVA = """
import java.sql.*;
public class Ix {
  public static void main(String[] a) throws Exception {
    try (Connection c = DriverManager.getConnection(a[0])) {
      DatabaseMetaData m = c.getMetaData();
      for (String t : new String[] {"ix_users", "Mixed Case"}) {
        ResultSet r = m.getIndexInfo(null, "public", t, false, false);
        while (r.next()) {
          System.out.println(r.getString("TABLE_NAME") + " " + r.getString("INDEX_NAME") + " "
              + r.getBoolean("NON_UNIQUE") + " " + r.getShort("TYPE") + " "
              + r.getInt("ORDINAL_POSITION") + " " + r.getString("COLUMN_NAME"));
        }
      }
    }
  }
}
"""


@pytest.mark.skipif(
    shutil.which("java") is None or not os.path.exists(JDBC_JAR),
    reason="needs java and the PostgreSQL JDBC driver (apt: libpostgresql-jdbc-java)",
)
def test_jdbc_index_info_as_postgres(indexed: int, tmp_path) -> None:
    source = tmp_path / "Ix.java"
    source.write_text(JAVA)
    url = f"jdbc:postgresql://127.0.0.1:{indexed}/elacsym?user=tester&sslmode=disable"
    out = subprocess.run(["java", "-cp", JDBC_JAR, str(source), url],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "ix_users ix_users_pkey false 3 1 user_id",
        "ix_users ix_users_t_idx false 3 1 test1",
        "ix_users ix_users_t_idx false 3 2 test2",
        "ix_users ix_users_all_idx true 3 1 user_id",
        "ix_users ix_users_all_idx true 3 2 test2",
        "ix_users ix_users_all_idx true 3 3 test1",
        "ix_users ix_users_q_idx true 3 1 q",
        "Mixed Case Mixed Case_b_key false 3 1 b",
        "Mixed Case Mixed Case_pkey false 3 1 id",
        "Mixed Case ix quote ' one false 3 1 Col A",
    ]


def test_tables_of_other_schemas_over_the_wire(indexed: int, wire) -> None:
    # A quoted name with a '.' is how DuckDB names a file; "s.t" here is a namespace, which
    # the wire's file policy lets through (decision 0033), while real files stay refused.
    _, con = wire
    con.execute("CREATE SCHEMA wire_schema")
    con.execute("CREATE TABLE wire_schema.ix_users (id INTEGER PRIMARY KEY, note TEXT)")
    engine = sa.create_engine(f"postgresql+psycopg://tester@127.0.0.1:{indexed}/elacsym")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO wire_schema.ix_users VALUES (1, 'in the schema')"))
            got = conn.execute(sa.text('SELECT note FROM "wire_schema".ix_users')).all()
            assert got == [("in the schema",)]
            # Made and dropped over the wire too (no file is read for what DDL names).
            conn.execute(sa.text("CREATE TABLE wire_schema.made (id SERIAL PRIMARY KEY, "
                                 "up INTEGER REFERENCES wire_schema.made (id))"))  # fmt: skip
            conn.execute(sa.text("CREATE SEQUENCE wire_schema.counter NO MINVALUE"))
            conn.execute(sa.text("INSERT INTO wire_schema.made DEFAULT VALUES"))
            assert conn.execute(sa.text("SELECT nextval('wire_schema.counter')")).all() == [(1,)]
            conn.execute(sa.text("DROP TABLE wire_schema.made"))
            conn.execute(sa.text("DROP SEQUENCE wire_schema.counter"))
        refused = pytest.raises(sa.exc.ProgrammingError, match="file access is disabled")
        with engine.connect() as conn, refused:
            conn.execute(sa.text('SELECT * FROM "elsewhere.csv"'))
        insp = sa.inspect(engine)
        assert insp.get_table_names(schema="wire_schema") == ["ix_users"]
        assert "wire_schema" in insp.get_schema_names()
        assert [c["name"] for c in insp.get_columns("ix_users", schema="wire_schema")] == [
            "id",
            "note",
        ]
        assert insp.get_table_names().count("ix_users") == 1  # public's, a table of its own
    finally:
        engine.dispose()
    listed = psql(indexed, r"\dn")
    assert "wire_schema" in listed
