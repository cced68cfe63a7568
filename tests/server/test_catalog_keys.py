"""Keys and constraints in the catalog (issue 8 item 6), from real DDL: composite primary
keys, UNIQUE, CHECK and FOREIGN KEY as psql's \\d, pgJDBC's DatabaseMetaData and
SQLAlchemy's reflection show them — what PostgreSQL 15 shows for the same tables."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import sqlalchemy as sa

from .psql_client import psql

JDBC_JAR = "/usr/share/java/postgresql.jar"
DDL = [
    "CREATE TABLE authors (id BIGINT PRIMARY KEY, name TEXT)",
    "CREATE TABLE books (id BIGINT PRIMARY KEY, author_id BIGINT REFERENCES authors(id),"
    " title TEXT CHECK (length(title) > 0), isbn TEXT UNIQUE)",
    "CREATE TABLE editions (book_id BIGINT, n INTEGER, year INTEGER, PRIMARY KEY (book_id, n))",
]


@pytest.fixture(scope="module")
def keyed(wire) -> int:
    port, con = wire
    for ddl in DDL:
        con.execute(ddl)
    return port


@pytest.mark.skipif(shutil.which("psql") is None, reason="no psql")
def test_psql_describes_keys_and_constraints(keyed: int) -> None:
    # The CHECK expression as the schema keeps it (sqlglot writes LENGTH for length).
    books = psql(keyed, r"\d books").replace("LENGTH(", "length(")
    for line in (
        '"books_pkey" PRIMARY KEY, btree (id)',
        '"books_isbn_key" UNIQUE CONSTRAINT, btree (isbn)',
        "Check constraints:",
        '"books_title_check" CHECK (length(title) > 0)',
        "Foreign-key constraints:",
        '"books_author_id_fkey" FOREIGN KEY (author_id) REFERENCES authors(id)',
    ):
        assert line in books, books
    authors = psql(keyed, r"\d authors")
    assert "Referenced by:" in authors
    assert (
        'TABLE "books" CONSTRAINT "books_author_id_fkey" FOREIGN KEY (author_id)'
        " REFERENCES authors(id)"
    ) in authors
    assert '"editions_pkey" PRIMARY KEY, btree (book_id, n)' in psql(keyed, r"\d editions")


def test_sqlalchemy_reflects_keys_and_constraints(keyed: int) -> None:
    engine = sa.create_engine(f"postgresql+psycopg://tester@127.0.0.1:{keyed}/elacsym")
    try:
        insp = sa.inspect(engine)
        assert insp.get_pk_constraint("editions")["constrained_columns"] == ["book_id", "n"]
        fks = insp.get_foreign_keys("books")
        assert [(f["name"], f["constrained_columns"], f["referred_table"],
                 f["referred_columns"]) for f in fks] == [
            ("books_author_id_fkey", ["author_id"], "authors", ["id"])
        ]  # fmt: skip
        assert [u["column_names"] for u in insp.get_unique_constraints("books")] == [["isbn"]]
        checks = insp.get_check_constraints("books")
        assert [(c["name"], c["sqltext"].lower()) for c in checks] == [
            ("books_title_check", "length(title) > 0")
        ]
        assert [(i["name"], i["column_names"], i["unique"]) for i in insp.get_indexes("books")] == [
            ("books_isbn_key", ["isbn"], True)
        ]
    finally:
        engine.dispose()


JAVA = """
import java.sql.*;
public class Keys {
  static void dump(String label, ResultSet r, String... cols) throws SQLException {
    while (r.next()) {
      StringBuilder sb = new StringBuilder(label);
      for (String c : cols) sb.append(" ").append(r.getString(c));
      System.out.println(sb);
    }
    r.close();
  }
  public static void main(String[] a) throws Exception {
    try (Connection c = DriverManager.getConnection(a[0])) {
      DatabaseMetaData m = c.getMetaData();
      String[] fk = {"PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME", "KEY_SEQ",
                     "UPDATE_RULE", "DELETE_RULE", "FK_NAME", "PK_NAME", "DEFERRABILITY"};
      dump("IMPORTED", m.getImportedKeys(null, "public", "books"), fk);
      dump("EXPORTED", m.getExportedKeys(null, "public", "authors"), fk);
      dump("CROSS", m.getCrossReference(null, "public", "authors", null, "public", "books"), fk);
      dump("PK", m.getPrimaryKeys(null, "public", "editions"), "COLUMN_NAME", "KEY_SEQ",
           "PK_NAME");
      dump("INDEX", m.getIndexInfo(null, "public", "books", false, true), "INDEX_NAME",
           "NON_UNIQUE", "ORDINAL_POSITION", "COLUMN_NAME");
      dump("INDEX", m.getIndexInfo(null, "public", "editions", false, true), "INDEX_NAME",
           "NON_UNIQUE", "ORDINAL_POSITION", "COLUMN_NAME");
    }
  }
}
"""


@pytest.mark.skipif(
    shutil.which("java") is None or not os.path.exists(JDBC_JAR),
    reason="needs java and the PostgreSQL JDBC driver (apt: libpostgresql-jdbc-java)",
)
def test_jdbc_keys_as_postgres(keyed: int, tmp_path) -> None:
    source = tmp_path / "Keys.java"
    source.write_text(JAVA)
    url = f"jdbc:postgresql://127.0.0.1:{keyed}/elacsym?user=tester&sslmode=disable"
    out = subprocess.run(["java", "-cp", JDBC_JAR, str(source), url],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    fk = "authors id books author_id 1 3 3 books_author_id_fkey authors_pkey 7"
    # What pgJDBC prints against PostgreSQL 15 for the same tables.
    assert out.stdout.splitlines() == [
        f"IMPORTED {fk}",
        f"EXPORTED {fk}",
        f"CROSS {fk}",
        "PK book_id 1 editions_pkey",
        "PK n 2 editions_pkey",
        "INDEX books_isbn_key f 1 isbn",
        "INDEX books_pkey f 1 id",
        "INDEX editions_pkey f 1 book_id",
        "INDEX editions_pkey f 2 n",
    ]
