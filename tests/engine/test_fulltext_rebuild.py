"""Deleted documents and BM25 statistics: a fold rebuilds the full-text index from the live
rows once more than MAX_DELETED_FRACTION of its documents are deleted versions, so scores
then equal those of a namespace that only ever held the live rows."""

from __future__ import annotations

import random

import pytest

from elacsym_sql.index.fulltext import MAX_DELETED_FRACTION
from elacsym_sql.sql import Connection
from tests.helpers import connection, fold, rows

WORDS = [
    "object", "storage", "write", "ahead", "log", "segment", "index", "vector", "search",
    "query", "row", "column", "fold", "tail", "merge", "score", "rank", "cache", "disk",
    "cloud", "bucket", "key", "value", "text", "word", "phrase", "token", "stem", "fox", "dog",
]  # fmt: skip
CREATE = (
    "CREATE TABLE {} (id BIGINT PRIMARY KEY, title TEXT, body TEXT, price DOUBLE) "
    "WITH (full_text = 'title, body')"
)
QUERIES = [
    "'object storage', 100",
    "'fox dog cache', 100, mode := 'and'",
    "'write ahead', 100, mode := 'phrase'",
    "'merge score', 100, columns := 'title^2, body'",
    "'title:bucket OR token', 100, mode := 'query'",
]
N = 60


def _text(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def _docs(rng: random.Random, ids: range) -> list[tuple]:
    return [(i, f"orig{i} " + _text(rng, 2, 5), _text(rng, 5, 30), float(i)) for i in ids]


def _fts(con: Connection) -> dict:
    return con.database.engine.namespace("docs").snapshot().manifest.fts


def _results(con: Connection, table: str) -> list[list[tuple]]:
    return [rows(con, f"SELECT id, _score FROM text_search('{table}', {q})") for q in QUERIES]


def _fresh_copy(con: Connection) -> list[list[tuple]]:
    """Results of a new namespace holding only the live rows of docs, folded once."""
    con.execute(CREATE.format("fresh"))
    live = rows(con, "SELECT id, title, body, price FROM docs ORDER BY id")
    con.executemany("INSERT INTO fresh VALUES (?, ?, ?, ?)", live)
    fold(con, "fresh")
    return _results(con, "fresh")


def _rewrite(con: Connection, rng: random.Random, updated: list[int], deleted: list[int]) -> None:
    for i in updated:
        con.execute(
            "UPDATE docs SET title = ?, body = ? WHERE id = ?",
            [_text(rng, 2, 5), "rewritten " + _text(rng, 5, 30), i],
        )
    for i in deleted:
        con.execute("DELETE FROM docs WHERE id = ?", [i])


@pytest.fixture
def con(make_settings):  # type: ignore[no-untyped-def]
    with connection(make_settings) as c:
        c.execute(CREATE.format("docs"))
        c.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)", _docs(random.Random(1), range(N)))
        fold(c)
        assert _fts(c)["docs"] == N and _fts(c)["deleted"] == 0
        yield c


def test_fold_over_the_threshold_rebuilds_to_fresh_scores(con: Connection) -> None:
    rng = random.Random(2)
    chosen = rng.sample(range(N), 20)
    updated, deleted = chosen[:14], chosen[14:]
    _rewrite(con, rng, updated, deleted)
    # Applied incrementally, the index would keep one dead version per update and delete.
    dead = len(updated) + len(deleted)
    assert dead > MAX_DELETED_FRACTION * (N + len(updated))
    before = _results(con, "docs")  # tail applied to the folded version: still inexact
    fold(con)
    state = _fts(con)
    assert (state["docs"], state["deleted"]) == (N - len(deleted), 0)
    assert state["version"] == 1  # a rebuild is still the next version for live readers
    got = _results(con, "docs")
    expected = _fresh_copy(con)
    assert all(expected) and got == expected  # same keys, same order, same float32 scores
    assert got != before  # the dead versions did move scores before the rebuild
    found = {i for hits in got for i, _ in hits}
    assert not found & set(deleted)
    rewritten = rows(con, "SELECT id FROM text_search('docs', 'rewritten', 100)")
    assert sorted(i for (i,) in rewritten) == sorted(updated)


def test_fold_under_the_threshold_keeps_the_index_and_finds_live_rows_only(con: Connection) -> None:
    rng = random.Random(3)
    updated, deleted = [1, 2, 3, 4], [5]
    _rewrite(con, rng, updated, deleted)
    fold(con)
    state = _fts(con)
    assert (state["docs"], state["deleted"]) == (N - 1, 5)  # no rebuild: dead versions kept
    expected = _fresh_copy(con)
    for hits, want in zip(_results(con, "docs"), expected, strict=True):
        assert {i for i, _ in hits} == {i for i, _ in want}  # live rows only, every match
        scores = [s for _, s in hits]
        assert scores == sorted(scores, reverse=True)
    rewritten = rows(con, "SELECT id FROM text_search('docs', 'rewritten', 100)")
    assert sorted(i for (i,) in rewritten) == updated
    for i in [*updated, *deleted]:  # superseded and deleted text no longer matches
        assert rows(con, f"SELECT id FROM text_search('docs', 'orig{i}', 10)") == []
    assert rows(con, "SELECT id FROM text_search('docs', 'orig6', 10)") == [(6,)]
