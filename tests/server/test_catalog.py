"""Postgres clients introspecting namespaces: psql meta-commands, SQLAlchemy inspect(),
pandas, information_schema, asyncpg, pgJDBC DatabaseMetaData (getTables, getColumns,
getPrimaryKeys); and the same catalog through the embedded connection."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from .psql_client import psql

JDBC_JAR = "/usr/share/java/postgresql.jar"


needs_psql = pytest.mark.skipif(shutil.which("psql") is None, reason="no psql")


@needs_psql
def test_psql_lists_namespaces_as_tables_of_public(wire):
    for command in (r"\dt", r"\d"):
        rows = [r.split("|") for r in psql(wire[0], command).splitlines() if "|" in r]
        # Owned by the user connected, as tables a Postgres user creates are.
        assert [c.strip() for c in rows[1]] == ["public", "docs", "table", "tester"]
    assert "public" in psql(wire[0], r"\dn")
    assert "elacsym" in psql(wire[0], r"\l")


@needs_psql
@pytest.mark.parametrize("command", [r"\d docs", r"\d+ docs"])
def test_psql_describes_a_namespace(wire, command):
    out = psql(wire[0], command)
    assert 'Table "public.docs"' in out
    cols = {
        r.split("|")[0].strip(): [c.strip() for c in r.split("|")[1:]] for r in out.splitlines()
    }
    assert cols["id"][0] == "bigint" and cols["id"][2] == "not null"
    assert cols["title"][:3] == ["text", "", ""]
    assert cols["price"][0] == "double precision"
    assert cols["embedding"][0] == "real[]"
    assert '"docs_pkey" PRIMARY KEY, btree (id)' in out


@needs_psql
def test_psql_lists_functions(wire):
    out = psql(wire[0], r"\df")
    assert "elacsym_stats" in out and "SETOF record" in out
    assert "__docs" not in out  # per-namespace helpers stay hidden
    rows = {r.split("|")[1].strip(): r.split("|")[3].strip() for r in out.splitlines()
            if r.count("|") == 4}  # fmt: skip
    assert rows["vector_search"] == (
        'ns text, q real[], k bigint, "column" text DEFAULT NULL, filter text DEFAULT NULL, '
        "ef bigint DEFAULT NULL, exact boolean DEFAULT false, "
        "recall_target double precision DEFAULT NULL"
    )
    assert rows["text_search"].startswith("ns text, query text, k bigint")
    assert rows["hybrid_search"].startswith("ns text, q real[], query text, k bigint")
    assert rows["elacsym_stats"] == "ns"  # DuckDB's macros: their parameters' names


def test_sqlalchemy_inspect_and_pandas(wire):
    pd = pytest.importorskip("pandas")
    sa = pytest.importorskip("sqlalchemy")
    engine = sa.create_engine(f"postgresql+psycopg://tester@127.0.0.1:{wire[0]}/elacsym")
    try:
        insp = sa.inspect(engine)
        assert "docs" in insp.get_table_names()
        assert insp.has_table("docs") and not insp.has_table("nope")
        cols = {c["name"]: c for c in insp.get_columns("docs")}
        assert list(cols) == ["id", "title", "price", "embedding"]
        assert isinstance(cols["id"]["type"], sa.BIGINT) and not cols["id"]["nullable"]
        assert isinstance(cols["title"]["type"], sa.TEXT) and cols["title"]["nullable"]
        assert isinstance(cols["price"]["type"], sa.Float)
        assert isinstance(cols["embedding"]["type"], sa.ARRAY)
        assert isinstance(cols["embedding"]["type"].item_type, sa.REAL)
        pk = insp.get_pk_constraint("docs")
        assert pk["constrained_columns"] == ["id"] and pk["name"] == "docs_pkey"
        frame = pd.read_sql("docs", engine)  # reflects the table, then selects it
        assert sorted(frame["id"]) == [1, 2, 3]
        assert list(frame.columns) == ["id", "title", "price", "embedding"]
    finally:
        engine.dispose()


def test_information_schema_over_the_wire_and_embedded(wire, dsn):
    psycopg = pytest.importorskip("psycopg")
    tables = (
        "SELECT table_schema, table_type FROM information_schema.tables WHERE table_name = 'docs'"
    )
    columns = (
        "SELECT column_name, data_type, udt_name, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = 'docs' ORDER BY ordinal_position"
    )
    expected = [
        ("id", "bigint", "int8", "NO"),
        ("title", "text", "text", "YES"),
        ("price", "double precision", "float8", "YES"),
        ("embedding", "ARRAY", "_float4", "YES"),
    ]
    with psycopg.connect(dsn, autocommit=True) as con:
        assert con.execute(tables).fetchall() == [("public", "BASE TABLE")]
        assert con.execute(columns).fetchall() == expected
        assert con.execute("SELECT count(*) FROM public.docs").fetchone() == (3,)
    embedded = wire[1].cursor()
    assert embedded.execute(tables).fetchall() == [("public", "BASE TABLE")]
    assert embedded.execute(columns).fetchall() == expected
    typed = embedded.execute(
        "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
        "WHERE c.relname = 'docs' AND c.relkind = 'r' ORDER BY a.attnum"
    ).fetchall()
    assert typed[0] == ("id", "bigint", True) and typed[3] == ("embedding", "real[]", False)


def _with_asyncpg(port: int, check: Callable[[Any], Awaitable[None]]) -> None:
    asyncpg = pytest.importorskip("asyncpg")

    async def run() -> None:
        con = await asyncpg.connect(host="127.0.0.1", port=port, user="tester",
                                    database="elacsym")  # fmt: skip
        try:
            await check(con)
        finally:
            await con.close()

    asyncio.run(run())


def test_asyncpg_scalar_results_and_catalog(wire):
    async def check(con: Any) -> None:
        rows = await con.fetch(
            "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relkind = $1", "r"
        )
        assert "docs" in [r["relname"] for r in rows]

    _with_asyncpg(wire[0], check)


def test_asyncpg_array_parameters_and_results(wire):
    async def check(con: Any) -> None:
        rows = await con.fetch(
            "SELECT id FROM vector_search('docs', $1::float4[], 2)", [1.0, 0.0, 0.0]
        )
        assert rows[0]["id"] == 1
        rows = await con.fetch("SELECT embedding FROM docs ORDER BY id")
        assert list(rows[0]["embedding"]) == [1.0, 0.0, 0.0]

    _with_asyncpg(wire[0], check)


JAVA = """
import java.sql.*;
public class Meta {
  public static void main(String[] a) throws Exception {
    try (Connection c = DriverManager.getConnection(a[0])) {
      DatabaseMetaData m = c.getMetaData();
      try (ResultSet r = m.getTables(null, "public", "%", new String[]{"TABLE"})) {
        while (r.next()) System.out.println("TABLE " + r.getString("TABLE_SCHEM") + " "
            + r.getString("TABLE_NAME"));
      }
      try (ResultSet r = m.getColumns(null, "public", "docs", "%")) {
        while (r.next()) System.out.println("COLUMN " + r.getString("COLUMN_NAME") + " "
            + r.getString("TYPE_NAME") + " " + r.getString("IS_NULLABLE"));
      }
      try (ResultSet r = m.getPrimaryKeys(null, "public", "docs")) {
        while (r.next()) System.out.println("PK " + r.getString("COLUMN_NAME") + " "
            + r.getString("PK_NAME"));
      }
      try (ResultSet r = m.getIndexInfo(null, "public", "docs", false, true)) {
        while (r.next()) System.out.println("INDEX " + r.getString("INDEX_NAME") + " "
            + r.getString("COLUMN_NAME") + " " + r.getBoolean("NON_UNIQUE") + " "
            + r.getInt("ORDINAL_POSITION"));
      }
      // Foreign keys: these read max_index_keys from pg_settings, then pg_constraint.
      for (ResultSet r : new ResultSet[]{m.getImportedKeys(null, "public", "docs"),
          m.getExportedKeys(null, "public", "docs"),
          m.getCrossReference(null, "public", "docs", null, "public", "docs")}) {
        int n = 0;
        while (r.next()) n++;
        r.close();
        System.out.println("KEYS " + n);
      }
      try (ResultSet r = c.createStatement().executeQuery(
          "SELECT setting FROM pg_catalog.pg_settings WHERE name='max_index_keys'")) {
        r.next();
        System.out.println("MAX_INDEX_KEYS " + r.getString(1));
      }
      // Postgres's keywords beyond SQL:2003's (pg_get_keywords()).
      System.out.println("KEYWORDS " + m.getSQLKeywords().contains("analyse"));
    }
  }
}
"""


@pytest.mark.skipif(
    shutil.which("java") is None or not os.path.exists(JDBC_JAR),
    reason="needs java and the PostgreSQL JDBC driver (apt: libpostgresql-jdbc-java)",
)
def test_jdbc_database_metadata(wire, tmp_path):
    source = tmp_path / "Meta.java"
    source.write_text(JAVA)
    url = f"jdbc:postgresql://127.0.0.1:{wire[0]}/elacsym?user=tester&sslmode=disable"
    out = subprocess.run(["java", "-cp", JDBC_JAR, str(source), url],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "TABLE public docs" in lines
    assert [line for line in lines if line.startswith("COLUMN")] == [
        "COLUMN id int8 NO",
        "COLUMN title text YES",
        "COLUMN price float8 YES",
        "COLUMN embedding _float4 YES",
    ]
    assert "PK id docs_pkey" in lines
    assert "INDEX docs_pkey id false 1" in lines
    assert [line for line in lines if line.startswith("KEYS")] == ["KEYS 0"] * 3  # no FKs
    assert "MAX_INDEX_KEYS 32" in lines
    assert "KEYWORDS true" in lines
