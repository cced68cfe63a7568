"""Random SQL-ish text for fuzzing both front doors (embedded and wire): words, symbols,
quotes and comments of the languages a statement may mix, in any order."""

from __future__ import annotations

from hypothesis import strategies as st

WORDS = [
    "SELECT", "FROM", "docs", "WHERE", "id", "title", "=", "(", ")", ",", "?", "$1", "$2",
    "'a'", "1", "2.5", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "DELETE", ";", "*",
    "vector_search", "text_search", "hybrid_search", "filter", ":=", "'id >'",
    "[1,0,0,0]", "ORDER BY", "LIMIT", "AND", "NOT", "NULL", "::", "TEXT", "FLOAT[4]", '"',
    "'", "--", "/*", "*/", "$$", "E'", "\\", "ü", "BEGIN", "ROLLBACK", "SAVEPOINT", "x",
    "SHOW", "EXPLAIN", "WITH", "AS", "JOIN", "LATERAL", "COPY", "pg_catalog.", "OPERATOR",
]  # fmt: skip
SQL_TEXT = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from(["", " ", "\n"])), max_size=14
).map(lambda parts: "".join(word + sep for word, sep in parts))
