"""COMMENT ON texts and VARCHAR(n) lengths live in the namespace's schema (decisions 0053,
0054): another process opening the same storage (local and S3) sees them, the length is
enforced there too, a fold keeps them, and DROP INDEX drops the index's comment."""

from __future__ import annotations

import pytest

import elacsym_sql
from tests.helpers import connection, fold, rows


def test_comments_and_lengths_survive_in_another_process(make_settings):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, title VARCHAR(8) NOT NULL)")
        con.execute("CREATE INDEX notes_title ON notes (title)")
        for sql in ("COMMENT ON TABLE notes IS 'kept notes'",
                    "COMMENT ON COLUMN notes.title IS 'short title'",
                    "COMMENT ON CONSTRAINT notes_pkey ON notes IS 'the key'",
                    "COMMENT ON INDEX notes_title IS 'by title'"):  # fmt: skip
            con.execute(sql)
        con.execute("INSERT INTO notes VALUES (1, 'first')")
        assert fold(con, "notes")
    with connection(make_settings) as other:
        got = rows(
            other,
            "SELECT obj_description('notes'::regclass, 'pg_class'), "
            "col_description('notes'::regclass, 2), "
            "obj_description('notes_title'::regclass, 'pg_class'), "
            "(SELECT description FROM pg_description d JOIN pg_constraint c ON c.oid = d.objoid "
            " WHERE c.conname = 'notes_pkey'), "
            "(SELECT character_maximum_length FROM information_schema.columns "
            " WHERE table_name = 'notes' AND column_name = 'title')",
        )
        assert got == [("kept notes", "short title", "by title", "the key", 8)]
        with pytest.raises(elacsym_sql.Error) as raised:
            other.execute("INSERT INTO notes VALUES (2, 'much too long')")
        assert raised.value.sqlstate == "22001"
        other.execute("DROP INDEX notes_title")
        other.execute("CREATE INDEX notes_title ON notes (id)")  # the same name again
        assert rows(other, "SELECT obj_description('notes_title'::regclass, 'pg_class')") == [
            ("recorded only: scans filter segments by their statistics",)
        ]
        assert rows(other, "SELECT id, title FROM notes") == [(1, "first")]
