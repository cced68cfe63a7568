"""More of Postgres's catalog (issue 8 item 6): psql's \\du \\dd \\sf \\dn \\d+ \\dt+ \\dT,
`'x'::regclass` as an OID, quote_ident / quote_literal, pg_locks, pg_stat_user_tables,
pg_settings, pg_cursors, relation sizes; over the wire with psql and psycopg."""

from __future__ import annotations

import shutil

import psycopg
import pytest

from .psql_client import psql

needs_psql = pytest.mark.skipif(shutil.which("psql") is None, reason="no psql")


@pytest.fixture(scope="module")
def meta(wire) -> int:
    """The module's server with one more namespace: a vector, full text, JSONB, an enum."""
    port, con = wire
    con.execute("CREATE TYPE shade AS ENUM ('light', 'dark')")
    con.execute(
        "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT, tags JSONB, s shade,"
        " amount NUMERIC(8,2), v FLOAT[4]) WITH (metric = 'l2', full_text = 'body',"
        " language = 'german')"
    )
    con.execute("INSERT INTO notes VALUES (1, 'Hallo Welt', '{}', 'dark', 1.50, [1, 2, 3, 4])")
    con.database.engine.fold("notes")  # a segment, so the table has a size
    return port


def _row(output: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is `first`."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in:\n{output}")


@needs_psql
def test_psql_describe_verbose_shows_storage_vectors_and_options(meta: int) -> None:
    out = psql(meta, r"\d+ notes")
    # Column | Type | Collation | Nullable | Default | Storage | Compression | Stats | Description
    assert _row(out, "id")[1:6] == ["bigint", "", "not null", "", "plain"]
    assert _row(out, "body")[5:] == ["extended", "", "", "full text (german)"]
    assert _row(out, "tags")[1] == "jsonb"
    assert _row(out, "s")[1] == "shade" and _row(out, "s")[5] == "plain"
    assert _row(out, "amount")[1] == "numeric(8,2)" and _row(out, "amount")[5] == "main"
    assert _row(out, "v")[-1] == "vector(4), l2 distance"
    assert '"notes_pkey" PRIMARY KEY, btree (id)' in out
    assert "Options: metric=l2, full_text=body, language=german, stemming=true" in out


@needs_psql
def test_psql_lists_with_sizes_owner_roles_schemas_types(meta: int) -> None:
    notes = _row(psql(meta, r"\dt+ notes"), "public")
    assert notes[1:4] == ["notes", "table", "tester"]  # the user connected is the owner
    size, unit = notes[6].split()
    assert float(size) > 0 and unit in ("bytes", "kB")
    roles = _row(psql(meta, r"\du"), "tester")
    assert roles[1] == "Superuser, Create role, Create DB, Replication, Bypass RLS"
    assert _row(psql(meta, r"\dn"), "public") == ["public", "tester"]
    assert _row(psql(meta, r"\dT"), "public")[1] == "shade"
    assert "(0 rows)" in psql(meta, r"\dd")  # no comments: an empty list, not an error
    database = _row(psql(meta, r"\l+"), "elacsym")
    assert database[1] == "tester" and database[-2] == "pg_default"
    assert float(database[-3].split()[0]) > 0  # the namespaces' size
    assert _row(psql(meta, r"\di"), "public")[1:5] == ["docs_pkey", "index", "tester", "docs"]
    source = psql(meta, r"\sf vector_search")
    assert source.startswith(
        "CREATE OR REPLACE FUNCTION public.vector_search(ns text, q real[], k bigint"
    )
    assert " RETURNS SETOF record\n" in source and "_distance real" in source


def test_regclass_quoting_locks_statistics_settings(meta: int, dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as con:
        oid = con.execute("SELECT oid FROM pg_class WHERE relname = 'notes'").fetchone()[0]
        assert con.execute("SELECT 'notes'::regclass::oid").fetchone() == (oid,)
        # a regclass prints as its name, as in Postgres; compared, it is the OID (below)
        assert con.execute("SELECT 'public.notes'::pg_catalog.regclass").fetchone() == ("notes",)
        names = con.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'notes'::regclass"
            " AND attnum > 0 ORDER BY attnum"
        ).fetchall()
        assert [n for (n,) in names] == ["id", "body", "tags", "s", "amount", "v"]
        with pytest.raises(psycopg.errors.UndefinedTable):
            con.execute("SELECT 'nosuch'::regclass")
        assert con.execute(
            "SELECT quote_ident('notes'), quote_ident('Mixed Case'), quote_ident('select'),"
            " pg_catalog.quote_literal('it''s'), quote_literal(42), quote_nullable(NULL)"
        ).fetchone() == ("notes", '"Mixed Case"', '"select"', "'it''s'", "'42'", "NULL")
        assert con.execute("SELECT count(*) FROM pg_catalog.pg_locks").fetchone() == (0,)
        stats = con.execute(
            "SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE relname = 'notes'"
        ).fetchall()
        assert stats == [("notes", 1)]
        size = con.execute(
            "SELECT pg_total_relation_size('notes'::regclass), pg_table_size(%s)", (oid,)
        ).fetchone()
        assert size[0] >= size[1] > 0
        assert con.execute(
            "SELECT setting FROM pg_settings WHERE name = 'max_index_keys'"
        ).fetchone() == ("32",)
        columns = con.execute(
            "SELECT column_name, data_type, udt_schema, udt_name FROM information_schema.columns"
            " WHERE table_name = 'notes' AND column_name IN ('tags', 's', 'amount')"
            " ORDER BY column_name"
        ).fetchall()
        assert columns == [  # as PostgreSQL 15 answers for the same table
            ("amount", "numeric", "pg_catalog", "numeric"),
            ("s", "USER-DEFINED", "public", "shade"),
            ("tags", "jsonb", "pg_catalog", "jsonb"),
        ]


def test_pg_cursors_lists_the_sessions_cursors(meta: int, dsn: str) -> None:
    with psycopg.connect(dsn) as con:
        con.execute("DECLARE c1 CURSOR WITH HOLD FOR SELECT id FROM notes")
        rows = con.execute("SELECT name, is_holdable, is_scrollable FROM pg_cursors").fetchall()
        assert rows == [("c1", True, False)]
        con.execute("CLOSE c1")
        assert con.execute("SELECT count(*) FROM pg_cursors").fetchone() == (0,)
        con.rollback()


def test_pg_get_keywords_and_builtins_stay_out_of_public(meta: int, dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as con:
        # pgJDBC's getSQLKeywords: keywords beyond SQL:2003's, from pg_get_keywords().
        assert con.execute(
            "SELECT catcode, catdesc FROM pg_catalog.pg_get_keywords() WHERE word = 'select'"
        ).fetchone() == ("R", "reserved")
        names = {n for (n,) in con.execute("SELECT proname FROM pg_proc").fetchall()}
        assert "vector_search" in names
        assert not names & {"quote_ident", "quote_literal", "pg_get_keywords"}
