"""Full-text index: namespace-wide BM25, tail = folded, modes, weights, options, storage."""

from __future__ import annotations

import gc
import math
import os
import random
import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from elacsym_sql.errors import (
    InvalidParameterValue,
    NotSupportedError,
    SyntaxError,
    UndefinedColumn,
)
from elacsym_sql.index.analyzer import build_analyzer
from elacsym_sql.index.fulltext import (
    MAX_DELETED_FRACTION,
    Delete,
    FtsSpec,
    FtsState,
    Hit,
    LiveIndex,
    Searcher,
    Upsert,
    fold,
)
from elacsym_sql.schema import Column, Options, Schema
from elacsym_sql.storage import DiskCache, ObjectStore

WORDS = " ".join(
    [
        "object storage write ahead log segment index vector search query row column fold",
        "tail merge score rank cache disk cloud bucket key value text word phrase token stem",
        "running runs ran fox dog quick brown lazy jumps over the and of a to in is",
    ]
).split()


class DirIO:
    """Object storage as a directory: fetch returns the object's own file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uploads: list[str] = []

    def fetch(self, key: str) -> str:
        return str(self.root / key)

    def upload(self, key: str, path: str) -> None:
        assert not (self.root / key).exists(), f"object {key} written twice"
        (self.root / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, self.root / key)
        self.uploads.append(key)


class StoreIO:
    """What the engine does: objects in an ObjectStore, read through the disk cache."""

    def __init__(self, store: ObjectStore, cache: DiskCache) -> None:
        self.store, self.cache = store, cache

    def fetch(self, key: str) -> str:
        return self.cache.path(self.store, key)

    def upload(self, key: str, path: str) -> None:
        self.store.put(key, Path(path).read_bytes())


def make_spec(key_type: str = "BIGINT", columns: tuple[str, ...] = ("title", "body"), **opts):
    cols = (Column("id", key_type), Column("title", "VARCHAR"), Column("body", "VARCHAR"))
    cols += (Column("tags", "VARCHAR[]"),)
    return FtsSpec.from_schema(Schema("docs", cols, "id", Options(full_text=columns, **opts)))


def rows(ids, titles, bodies, tags=None) -> pa.Table:
    data = {"id": list(ids), "title": list(titles), "body": list(bodies)}
    if tags is not None:
        data["tags"] = list(tags)
    return pa.table(data)


def random_corpus(n: int, seed: int = 1, longest: int = 60) -> pa.Table:
    rng = random.Random(seed)

    def text(lo: int, hi: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))

    return rows(range(n), [text(2, 6) for _ in range(n)], [text(5, longest) for _ in range(n)])


@pytest.fixture
def io(tmp_path: Path) -> DirIO:
    (tmp_path / "objects").mkdir()
    return DirIO(tmp_path / "objects")


def view(spec: FtsSpec, io, state: FtsState | None, tail=()) -> Searcher:  # type: ignore[no-untyped-def]
    return LiveIndex(spec, io).view(state, tail)


QUERIES = [
    ("object storage", {}),
    ("quick brown fox", {"mode": "and"}),
    ("write ahead", {"mode": "phrase"}),
    ("title:fox OR +log -dog", {"mode": "query"}),
    ("running index", {"columns": "title^2, body"}),
    ("search", {"columns": "body"}),
]


def all_results(searcher: Searcher, k: int = 1000) -> list[list[Hit]]:
    return [searcher.search(text, k, **kw) for text, kw in QUERIES]


def assert_same_scores(got: list[list[Hit]], expected: list[list[Hit]]) -> None:
    """The same hits with the same scores, to float32 rounding: where two indexes lay the
    documents out differently (a fold's writer threads decide it, run to run), tantivy adds
    a document's term scores in another order, a last-bit difference."""
    assert len(got) == len(expected)
    for hits, want in zip(got, expected, strict=True):
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        scores = {h.key: h.score for h in hits}
        assert scores == pytest.approx({h.key: h.score for h in want}, rel=1e-6)


# -- namespace-wide statistics ------------------------------------------------------------


def test_same_scores_in_one_fold_or_twenty(io: DirIO) -> None:
    spec, corpus = make_spec(), random_corpus(400)
    one = fold(spec, None, [Upsert(corpus)], io, "ns/fts", wal_hwm=1)
    many: FtsState | None = None
    order = list(range(400))
    random.Random(3).shuffle(order)
    for n in range(20):
        part = corpus.take(order[n * 20 : (n + 1) * 20])
        many = fold(spec, many, [Upsert(part)], io, "ns/fts", wal_hwm=n)
    assert many is not None and many.docs == one.docs == 400
    expected = all_results(view(spec, io, one))
    assert all(expected)
    assert_same_scores(all_results(view(spec, io, many)), expected)


def test_tail_scores_equal_scores_once_folded(io: DirIO) -> None:
    spec, corpus = make_spec(), random_corpus(300)
    base = fold(spec, None, [Upsert(corpus.slice(0, 200))], io, "ns/fts", wal_hwm=5)
    updates = random_corpus(30, seed=9).set_column(0, "id", pa.array(range(150, 180)))
    tail = [
        (6, Upsert(corpus.slice(200, 100))),  # new keys
        (7, Upsert(updates)),  # supersede indexed rows
        (8, Delete(pa.array([3, 4, 250]))),  # delete an indexed and a tail row
        (9, Upsert(rows([4], ["object storage revived"], ["tail row again"]))),
    ]
    live = view(spec, io, base, tail)
    folded = fold(spec, base, [op for _, op in tail], io, "ns/fts", wal_hwm=9)
    expected = all_results(view(spec, io, folded))
    got = all_results(live)
    assert_same_scores(got, expected)  # the tail is scored by tantivy with base + tail stats
    keys = {h.key for hits in got for h in hits}
    assert 3 not in keys and 250 not in keys and 4 in keys
    assert any(k >= 200 for k in keys)  # tail rows are found


def test_a_tail_applied_write_by_write_scores_as_one_loaded_at_once(io: DirIO) -> None:
    """Decision 0091: a process that applied the tail as it was written and one that just
    loaded the version and the same tail score alike (tantivy drops a segment whose
    documents are all deleted, and merges small segments on its own after a commit)."""
    spec, corpus = make_spec(), random_corpus(200)
    base = fold(spec, None, [Upsert(corpus)], io, "ns/fts", wal_hwm=0)
    fresh = random_corpus(40, seed=5)
    tail: list[tuple[int, Upsert | Delete]] = []
    for i in range(20):  # one-row writes: overwrites of indexed and of tail rows, deletes
        row = fresh.slice(i, 1)
        key = [300 + i % 4, i * 7 % 200][i % 2]
        tail.append((len(tail) + 1, Upsert(row.set_column(0, "id", pa.array([key])))))
        if i % 5 == 4:
            tail.append((len(tail) + 1, Delete([300 + i % 4, i * 3])))
    by_write = LiveIndex(spec, io)
    for n in range(1, len(tail) + 1):
        searcher = by_write.view(base, tail[:n])
    assert all(all_results(searcher))
    assert all_results(searcher) == all_results(view(spec, io, base, tail))
    folded = fold(spec, base, [op for _, op in tail], io, "ns/fts", wal_hwm=len(tail))
    assert_same_scores(all_results(searcher), all_results(view(spec, io, folded)))


def test_scores_follow_bm25_with_namespace_wide_statistics(io: DirIO) -> None:
    """Reference formula: k1 = 1.2, b = 0.75, N/df/avgdl over every fold (docs < 40 tokens,
    whose lengths tantivy stores exactly)."""
    spec = make_spec(columns=("body",))
    analyzer = build_analyzer(spec.options)
    corpus = random_corpus(120, seed=5, longest=39)
    state = None
    for n in range(4):  # four folds: statistics must still span all 120 documents
        state = fold(spec, state, [Upsert(corpus.slice(n * 30, 30))], io, "ns/fts", wal_hwm=n)
    tokens = [analyzer.analyze(t) for t in corpus.column("body").to_pylist()]
    avgdl = sum(map(len, tokens)) / len(tokens)
    query = ["stem", "merg", "fox"]

    def bm25(doc: list[str]) -> float:
        score = 0.0
        for term in query:
            df = sum(term in d for d in tokens)
            tf = doc.count(term)
            if tf:
                idf = math.log(1 + (len(tokens) - df + 0.5) / (df + 0.5))
                score += idf * 2.2 * tf / (tf + 1.2 * (1 - 0.75 + 0.75 * len(doc) / avgdl))
        return score

    hits = view(spec, io, state).search("stems merging foxes", 200)
    assert len(hits) == sum(bm25(d) > 0 for d in tokens)
    for hit in hits:
        assert hit.score == pytest.approx(bm25(tokens[hit.key]), rel=1e-5)


def test_rebuild_drops_deleted_versions_from_statistics(io: DirIO) -> None:
    spec, corpus = make_spec(), random_corpus(200)
    state = fold(spec, None, [Upsert(corpus)], io, "ns/fts", wal_hwm=1)
    fresh = all_results(view(spec, io, state))
    calls: list[int] = []

    def live_rows() -> list[pa.Table]:  # the namespace's rows: the rewrites changed no text
        calls.append(1)
        return [corpus.slice(0, 120), corpus.slice(120)]

    # 50 dead of 250 documents: exactly MAX_DELETED_FRACTION, kept.
    ops = [Upsert(corpus.slice(0, 50))]
    kept = fold(spec, state, ops, io, "ns/fts", wal_hwm=2, live_rows=live_rows)
    assert (kept.docs, kept.deleted, calls) == (200, 50, [])
    assert 50 / (kept.docs + kept.deleted) == MAX_DELETED_FRACTION
    # Documented limit: tantivy keeps counting the 50 superseded versions until a merge
    # or a rebuild drops them, so scores move although the live text is the same.
    assert all_results(view(spec, io, kept)) != fresh
    live = LiveIndex(spec, io)
    live.view(kept)
    # One more rewrite: 51 of 251, over the threshold: built from the live rows alone.
    io.uploads.clear()
    ops = [Upsert(corpus.slice(50, 1))]
    rebuilt = fold(spec, kept, ops, io, "ns/fts", wal_hwm=3, live_rows=live_rows)
    assert (rebuilt.docs, rebuilt.deleted, rebuilt.version, calls) == (200, 0, 2, [1])
    assert sorted(io.uploads) == sorted(rebuilt.object_keys)  # only the rebuilt files
    assert not set(rebuilt.object_keys) & set(kept.object_keys)
    assert_same_scores(all_results(view(spec, io, rebuilt)), fresh)  # as a fresh index
    assert_same_scores(all_results(live.view(rebuilt)), fresh)  # a reader moves on to it


# -- deletes, supersedes, keys ------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["BIGINT", "VARCHAR", "UUID"])
def test_deletes_and_supersedes(io: DirIO, key_type: str) -> None:
    spec = make_spec(key_type)
    names = {
        "BIGINT": [1, 2, 3, 4],
        "VARCHAR": ["a b", "x:y" * 40_000, "\x00sha256:", "ключ"],  # long keys: a digest
        "UUID": [str(uuid.UUID(int=i)) for i in range(4)],
    }[key_type]
    k1, k2, k3, k4 = names
    first = rows(names, ["red fox", "red dog", "red cat", "blue"], ["", "", "", ""])
    state = fold(spec, None, [Upsert(first)], io, "ns/fts", wal_hwm=1)
    ops = [
        Upsert(rows([k1, k1], ["green fox", "yellow fox"], [None, None])),  # last one wins
        Delete([k2]),
        Upsert(rows([k3], [None], [None])),  # no text any more: not indexed
    ]
    for searcher in (view(spec, io, state, [(2, op) for op in ops]),
                     view(spec, io, fold(spec, state, ops, io, "ns/fts", wal_hwm=2))):  # fmt: skip
        assert searcher.search("red", 10) == []
        assert [h.key for h in searcher.search("fox", 10)] == [k1]
        assert searcher.search("green", 10) == []
        assert [h.key for h in searcher.search("yellow", 10)] == [k1]
        assert [h.key for h in searcher.search("blue", 10, allowed=[k4, k2])] == [k4]
        assert searcher.num_docs == 2


def test_ties_are_broken_by_key_whatever_the_layout(io: DirIO) -> None:
    spec = make_spec()
    same = rows(range(30), ["same words"] * 30, ["here"] * 30)
    state: FtsState | None = None
    for n, part in enumerate([same.slice(20, 10), same.slice(0, 10), same.slice(10, 10)]):
        state = fold(spec, state, [Upsert(part)], io, "ns/fts", wal_hwm=n)
    hits = view(spec, io, state).search("same", 7)
    assert [h.key for h in hits] == list(range(7))
    assert len({h.score for h in hits}) == 1


@pytest.mark.parametrize("n_allowed", [3, 40, 250])
def test_allowed_keys_filter_inside_search(io: DirIO, n_allowed: int) -> None:
    spec, corpus = make_spec(), random_corpus(500)
    searcher = view(spec, io, fold(spec, None, [Upsert(corpus)], io, "ns/fts", wal_hwm=1))
    allowed = set(random.Random(n_allowed).sample(range(500), n_allowed))
    for text, kw in QUERIES:
        everything = searcher.search(text, 10_000, **kw)
        expected = [h for h in everything if h.key in allowed][:10]
        assert searcher.search(text, 10, allowed=allowed, **kw) == expected
    assert searcher.search("fox", 10, allowed=[]) == []


# -- modes, weights, user text -------------------------------------------------------------


@pytest.fixture
def small(io: DirIO) -> Searcher:
    spec = make_spec()
    docs = rows(
        [1, 2, 3, 4, 5],
        ["Object storage", "Write-ahead log", "Logs", "Fox", "Storage"],
        [
            "S3 is object storage for the cloud",
            "The write ahead of the log makes writes durable",
            "ahead write: a log of writes",
            "The quick brown fox jumps over the lazy dog",
            "object",
        ],
    )
    return view(spec, io, fold(spec, None, [Upsert(docs)], io, "ns/fts", wal_hwm=1))


def keys(hits: list[Hit]) -> set:
    return {h.key for h in hits}


def test_modes(small: Searcher) -> None:
    assert keys(small.search("object storage", 10)) == {1, 5}
    assert keys(small.search("object storage", 10, mode="and")) == {1, 5}
    assert keys(small.search("object cloud", 10, mode="and")) == {1}
    assert keys(small.search("storage object", 10, mode="phrase")) == set()
    assert keys(small.search("Object Storage!", 10, mode="phrase")) == {1}
    # Stop words keep their gap: "write ahead of the log" is not "ahead write: a log".
    assert keys(small.search('"write ahead of the log"', 10, mode="phrase")) == {2}
    # "Write-ahead log" and "The write ahead of": both hold the phrase.
    assert keys(small.search("write ahead", 10, mode="phrase")) == {2}
    assert keys(small.search("dog", 10, mode="phrase")) == {4}  # one word: a term search
    assert keys(small.search("title:log", 10, mode="query")) == {2, 3}
    assert keys(small.search("log -title:ahead", 10, mode="query")) == {3}
    assert keys(small.search('body:"quick brown"', 10, mode="query")) == {4}
    # The default field holds title + body as separate values: no phrase across them.
    assert keys(small.search("fox the quick", 10, mode="phrase")) == set()


def test_column_weights(small: Searcher) -> None:
    title = {h.key: h.score for h in small.search("storage", 10, columns="title")}
    body = {h.key: h.score for h in small.search("storage", 10, columns="body")}
    doubled = {h.key: h.score for h in small.search("storage", 10, columns="title^2")}
    both = {h.key: h.score for h in small.search("storage", 10, columns=" title^2 , body ")}
    assert set(title) == {1, 5} and set(body) == {1}
    assert doubled == pytest.approx({k: 2 * v for k, v in title.items()}, rel=1e-6)
    assert both == pytest.approx({1: 2 * title[1] + body[1], 5: 2 * title[5]}, rel=1e-6)
    q = {h.key: h.score for h in small.search("storage", 10, mode="query", columns="title^2")}
    assert q == pytest.approx(doubled, rel=1e-6)
    with pytest.raises(UndefinedColumn):
        small.search("x", 10, columns="price")
    for bad in ("title^0", "title^-1", "title^x", "title^inf", "title body"):
        with pytest.raises(InvalidParameterValue):
            small.search("x", 10, columns=bad)


NASTY = [
    '"unbalanced', "a:b:c", "((( )))", "title:", "+", "-", "^2", "AND OR NOT", "*?~",
    "[1 TO 5]", "{x}", "\\", "''", "-- comment", "/* c */", "field:(a OR", ")", "!!!",
    "the of and", "über straße café", "日本語のテキスト", "a" * 500, "emoji 🦊 fox", "\x00\n\t",
]  # fmt: skip


def test_user_text_never_raises_outside_query_mode(small: Searcher) -> None:
    for text in NASTY:
        for mode in ("or", "and", "phrase"):
            assert isinstance(small.search(text, 5, mode=mode), list), (text, mode)
    assert keys(small.search("fox?!", 10)) == {4}
    with pytest.raises(SyntaxError) as err:
        small.search('title:(fox OR "dog', 10, mode="query")
    assert err.value.sqlstate == "42601"
    with pytest.raises(UndefinedColumn):
        small.search("price:5", 10, mode="query")


@pytest.mark.parametrize(
    "text,mode,k", [("", "or", 10), ("   ", "or", 10), ("x" * 10_001, "or", 10),
                    ("fox", "fuzzy", 10), ("fox", "or", 0), ("fox", "or", -1)],
)  # fmt: skip
def test_bad_arguments(small: Searcher, text: str, mode: str, k: int) -> None:
    with pytest.raises(InvalidParameterValue):
        small.search(text, k, mode=mode)


def test_snippets(small: Searcher) -> None:
    out = small.snippets(
        "storage <b>", ["Object storage & <cheap> storages", None, "nothing to see"], "body"
    )
    assert out[0] == "Object <b>storage</b> &amp; &lt;cheap&gt; <b>storages</b>"
    assert out[1] is None and out[2] == "nothing to see"
    long = "lead " * 100 + "the write ahead log"
    (snippet,) = small.snippets("write ahead", [long], "body", mode="phrase", max_chars=40)
    assert "<b>write</b> <b>ahead</b>" in snippet and len(snippet) < 80
    with pytest.raises(UndefinedColumn):
        small.snippets("x", ["y"], "tags")


# -- analysis options ----------------------------------------------------------------------


def one_doc(io: DirIO, text: str, **opts) -> Searcher:  # type: ignore[no-untyped-def]
    spec = make_spec(columns=("body",), **opts)
    return view(spec, io, fold(spec, None, [Upsert(rows([1], [None], [text]))], io, "p", wal_hwm=1))


def test_stemming_stopwords_case(io: DirIO) -> None:
    text = "The Runner was RUNNING to the Stations"
    default = one_doc(io, text)
    assert default.search("runs station", 1, mode="and")
    assert default.search("the", 1) == []  # stop word
    assert default.search("running stations", 1, mode="phrase") == []  # "to the" gap
    nostem = one_doc(io, text, stemming=False)
    assert nostem.search("station", 1) == [] and nostem.search("stations", 1)
    nostop = one_doc(io, text, stopwords=False)
    assert nostop.search("the", 1) and nostop.search("running to the stations", 1, mode="phrase")
    case = one_doc(io, text, case_sensitive=True, stemming=False)
    assert case.search("RUNNING", 1) and case.search("running", 1) == []


def test_languages(io: DirIO) -> None:
    french = one_doc(io, "Les chevaux mangeaient des pommes", language="french")
    assert french.search("cheval mangeait", 1, mode="and")
    assert french.search("les", 1) == []
    # Greek has a stemmer but no tantivy stop word list: stop words are simply not removed.
    greek = one_doc(io, "οι γάτες τρώνε ψάρια", language="greek")  # noqa: RUF001
    assert greek.search("γάτα", 1) and greek.search("οι", 1)  # noqa: RUF001
    for option in ({"k1": 1.5}, {"b": 0.5}):
        with pytest.raises(NotSupportedError):
            make_spec(**option)
    assert make_spec(k1=1.2, b=0.75)


def test_list_column(io: DirIO) -> None:
    spec = make_spec(columns=("tags",))
    table = rows([1, 2], ["", ""], ["", ""], [["red fox", "blue"], None])
    searcher = view(spec, io, fold(spec, None, [Upsert(table)], io, "p", wal_hwm=1))
    assert keys(searcher.search("blue", 5)) == {1}
    assert searcher.search("fox blue", 5, mode="phrase") == []  # values do not run together
    assert searcher.num_docs == 1  # all-NULL text is not indexed


# -- storage and the live index ------------------------------------------------------------


def test_files_are_immutable_objects_in_the_store(store: ObjectStore, tmp_path: Path) -> None:
    spec, corpus = make_spec(), random_corpus(300)
    writer_io = StoreIO(store, DiskCache(str(tmp_path / "c1"), 1 << 30))
    v1 = fold(spec, None, [Upsert(corpus.slice(0, 200))], writer_io, "docs/fts", wal_hwm=1)
    before = {key: store.get(key) for key in v1.object_keys}
    ops = [Upsert(corpus.slice(200, 100)), Delete(list(range(50)))]
    work = tmp_path / "work"
    work.mkdir()
    v2 = fold(spec, v1, ops, writer_io, "docs/fts", wal_hwm=2, work_dir=str(work))
    assert {key: store.get(key) for key in v1.object_keys} == before  # nothing rewritten
    assert (v2.version, v2.docs, v2.deleted) == (1, 250, 50)
    assert set(v1.object_keys) & set(v2.object_keys)  # unchanged segments are shared
    assert all(k.startswith("docs/fts/") for k in v2.object_keys)
    assert os.listdir(work) == []  # the fold's scratch directory is gone
    assert FtsState.from_json(v2.to_json()) == v2
    # Another process: its own cache, the state as the manifest carries it.
    reader_io = StoreIO(store, DiskCache(str(tmp_path / "c2"), 1 << 30))
    reader = view(spec, reader_io, FtsState.from_json(v2.to_json()))
    assert all_results(reader) == all_results(view(spec, writer_io, v2))
    assert reader.search("fox", 1000, allowed=range(50)) == []


def test_live_index_moves_forward_only(io: DirIO, tmp_path: Path) -> None:
    spec, corpus = make_spec(), random_corpus(100)
    v1 = fold(spec, None, [Upsert(corpus.slice(0, 50))], io, "ns/fts", wal_hwm=3)
    live = LiveIndex(spec, io, work_dir=str(tmp_path))
    tail = [(4, Upsert(corpus.slice(50, 50)))]
    old = live.view(v1, tail)
    assert live.view(v1, tail) is old  # nothing new: the same snapshot
    before = all_results(old)
    v2 = fold(spec, v1, [op for _, op in tail], io, "ns/fts", wal_hwm=4)
    new = live.view(v2, tail)  # op 4 is in v2 now: not applied twice
    assert new is not old and new.num_docs == 100
    assert_same_scores(all_results(new), before)  # v2 lays the documents out its own way
    assert all_results(old) == before  # the old snapshot still answers
    assert live.view(v1, tail) is new  # an older state never replaces a newer one
    assert live.view(None, []) is new
    newer = live.view(v2, [*tail, (5, Delete([0, 1]))])
    assert newer.num_docs == 98
    live.close()
    assert [p for p in os.listdir(tmp_path) if p.startswith("fts-")] == []


def test_a_live_index_nobody_closes_removes_its_directory(io: DirIO, tmp_path: Path) -> None:
    spec, corpus = make_spec(), random_corpus(20)
    v1 = fold(spec, None, [Upsert(corpus)], io, "ns/fts", wal_hwm=1)
    live = LiveIndex(spec, io, work_dir=str(tmp_path))
    searcher = live.view(v1, [])
    assert [p for p in os.listdir(tmp_path) if p.startswith("fts-live-")]
    del live
    gc.collect()
    assert [p for p in os.listdir(tmp_path) if p.startswith("fts-live-")] == []
    assert searcher.num_docs == 20  # a searcher it returned still answers


def test_empty_namespace_and_tail_only(io: DirIO) -> None:
    spec = make_spec()
    assert view(spec, io, None).search("fox", 10) == []
    searcher = view(spec, io, None, [(1, Upsert(rows([7], ["fox"], ["den"])))])
    assert [h.key for h in searcher.search("fox", 10)] == [7]
    empty = fold(spec, None, [], io, "ns/fts", wal_hwm=0)
    assert empty.docs == 0 and view(spec, io, empty).search("fox", 3) == []


def test_failed_tail_apply_leaves_nothing_half_applied(io: DirIO) -> None:
    spec = make_spec()
    live = LiveIndex(spec, io)
    good = (1, Upsert(rows([1], ["fox"], ["den"])))
    bad = (2, Upsert(pa.table({"title": ["no key column"]})))
    with pytest.raises(KeyError):
        live.view(None, [good, bad])
    searcher = live.view(None, [good])
    assert [h.key for h in searcher.search("fox", 5)] == [1] and searcher.num_docs == 1
