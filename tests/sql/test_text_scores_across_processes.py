"""text_search scores do not depend on which process answers (decision 0091): the process
that wrote the rows one statement at a time (its live full-text index took each write as
it came, decision 0065) and a process that loaded the root afterwards score alike."""

from __future__ import annotations

from pathlib import Path

import elacsym_sql
from tests.other_process import OtherProcess

WORDS = [
    "fox",
    "dog",
    "quick",
    "brown",
    "lazy",
    "cat",
    "den",
    "sleeps",
    "runs",
    "red",
    "and",
    "a",
    "the",
]
QUERY = "SELECT id, _score FROM text_search('docs', 'fox dog', 20) ORDER BY id"


def test_the_writer_and_a_process_that_loaded_the_root_score_alike(tmp_path: Path):
    writer = OtherProcess(str(tmp_path), indexer=False)  # no fold: the tail stays live
    try:
        writer.run("CREATE TABLE docs (id BIGINT PRIMARY KEY, body TEXT) WITH (full_text = 'body')")
        for i in range(14):  # one-row writes: a segment each in a live index
            text = " ".join(WORDS[(i * k) % len(WORDS)] for k in range(1, 3 + i % 5))
            writer.run(f"INSERT INTO docs VALUES ({i % 9}, '{text}')")  # some overwrite
        writer.run("UPDATE docs SET body = 'fox fox and a dog' WHERE id = 2")
        writer.run("DELETE FROM docs WHERE id IN (4, 5)")
        live = [tuple(row) for row in writer.run(QUERY)]
    finally:
        writer.close()
    loaded = elacsym_sql.connect(str(tmp_path), indexer=False)
    cur = loaded.cursor()
    cur.execute(QUERY)
    assert len(live) >= 3
    assert cur.fetchall() == live  # the same floats
    loaded.close()
