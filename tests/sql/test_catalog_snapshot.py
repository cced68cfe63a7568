"""The catalog's base relations are tables rebuilt on change (pg_catalog/snapshot.py): every
change of what they show is seen by the next catalog read, from any session."""

from __future__ import annotations

import elacsym_sql


def _columns(cur, table: str) -> list[tuple[str, str]]:
    cur.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = ? AND a.attnum > 0 "
        "ORDER BY a.attnum",
        [table],
    )
    return cur.fetchall()


def _tables(cur) -> set[str]:
    cur.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 2200")
    return {r[0] for r in cur.fetchall()}


def test_every_change_is_seen_by_the_next_catalog_read_of_another_session(tmp_path):
    con = elacsym_sql.connect(str(tmp_path))
    writer, reader = con.cursor(), con.cursor()
    assert "docs" not in _tables(reader)

    writer.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, title VARCHAR(20))")
    assert "docs" in _tables(reader)
    assert _columns(reader, "docs") == [("id", "integer"), ("title", "character varying(20)")]

    writer.execute("COMMENT ON COLUMN docs.title IS 'the title'")
    reader.execute("SELECT col_description('docs'::regclass::oid, 2)")
    assert reader.fetchone() == ("the title",)

    writer.execute("CREATE VIEW recent AS SELECT id FROM docs")
    reader.execute("SELECT relkind FROM pg_class WHERE relname = 'recent'")
    assert reader.fetchone() == ("v",)
    writer.execute("CREATE OR REPLACE VIEW recent AS SELECT id, title FROM docs")
    assert [name for name, _ in _columns(reader, "recent")] == ["id", "title"]
    writer.execute("COMMENT ON VIEW recent IS 'the recent ones'")  # DuckDB's to keep
    reader.execute("SELECT obj_description('recent'::regclass::oid)")
    assert reader.fetchone() == ("the recent ones",)

    writer.execute("DROP VIEW recent")
    writer.execute("DROP TABLE docs")
    assert "docs" not in _tables(reader)
    reader.execute("SELECT count(*) FROM pg_class WHERE relname IN ('docs', 'recent')")
    assert reader.fetchone() == (0,)
    con.close()


def test_a_namespace_made_by_another_process_is_listed_by_the_next_catalog_read(tmp_path):
    here, there = elacsym_sql.connect(str(tmp_path)), elacsym_sql.connect(str(tmp_path))
    cur = here.cursor()
    assert "elsewhere" not in _tables(cur)
    there.execute("CREATE TABLE elsewhere (id INTEGER PRIMARY KEY, n BIGINT)")
    assert "elsewhere" in _tables(cur)
    assert _columns(cur, "elsewhere") == [("id", "integer"), ("n", "bigint")]
    there.execute("DROP TABLE elsewhere")
    assert "elsewhere" not in _tables(cur)
    here.close()
    there.close()


def test_the_snapshot_leaves_no_transaction_open(tmp_path):
    # An unread result of the fingerprint query kept a transaction open: DuckDB refused
    # CHECKPOINT after the next write of another connection.
    con = elacsym_sql.connect(str(tmp_path))
    writer, other = con.cursor(), con.cursor()
    writer.execute("CREATE TABLE docs (id BIGINT PRIMARY KEY, title TEXT)")
    writer.execute("COMMENT ON TABLE docs IS 'the documents'")
    other.execute("CHECKPOINT")
    con.close()
