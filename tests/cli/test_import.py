"""`elacsym import NS FILE...`: Parquet, CSV and JSON Lines into new and existing
namespaces, with progress on a terminal and plain lines otherwise."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from elacsym_sql import IntegrityError, connect
from elacsym_sql.cli import main
from elacsym_sql.cli.progress import Progress

ROWS = 100_000
DIM = 8


@pytest.fixture
def env(clean_env, tmp_path):
    monkeypatch = clean_env
    monkeypatch.setenv("ELACSYM_DATA", str(tmp_path / "data"))
    return monkeypatch


def test_import_100k_row_parquet_creates_the_namespace_from_its_schema(env, capsys, tmp_path):
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((ROWS, DIM)).astype(np.float32)
    table = pa.table(
        {
            "id": pa.array(np.arange(ROWS, dtype=np.int64)),
            "title": [
                f"document {i} about {'storage' if i % 10 == 0 else 'other'}" for i in range(ROWS)
            ],
            "price": rng.random(ROWS),
            "year": pa.array(rng.integers(1990, 2025, ROWS).astype(np.int32)),
            "tags": [["a", "b"] if i % 2 else [] for i in range(ROWS)],
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), DIM),
        }
    )
    path = tmp_path / "docs.parquet"
    pq.write_table(table, path, row_group_size=25_000)
    assert main(["import", "docs", str(path), "--full-text", "title", "--metric", "l2"]) == 0
    err = capsys.readouterr().err
    assert "created namespace docs" in err
    assert "import docs: 100,000 rows in" in err and "rows/s" in err  # the last line
    assert "ETA" in err and "\r" not in err  # plain lines: not a terminal
    with connect() as con:
        assert con.execute("SELECT count(*), sum(year) FROM docs").fetchone() == (
            ROWS,
            int(table["year"].to_numpy().sum()),
        )
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'docs'"
            ).fetchall()
        )
        assert types["id"] == "bigint" and types["year"] == "integer"
        assert types["title"] == "text" and types["price"] == "double precision"
        (row,) = con.execute(
            "SELECT id, _distance FROM vector_search('docs', ?::FLOAT[8], 1)",
            [vectors[4242].tolist()],
        ).fetchall()
        assert row[0] == 4242 and row[1] == pytest.approx(0, abs=1e-5)  # l2: itself
        hits = con.execute("SELECT id FROM text_search('docs', 'storage', 5)").fetchall()
        assert len(hits) == 5 and all(i % 10 == 0 for (i,) in hits)
        assert con.execute("SELECT tags FROM docs WHERE id = 3").fetchone() == (["a", "b"],)
        with pytest.raises(IntegrityError):  # the key is a real key
            con.execute("INSERT INTO docs (id) VALUES (1), (1)")


def test_import_csv_then_jsonl_into_an_existing_namespace_upserts(env, capsys, tmp_path):
    (tmp_path / "a.csv").write_text("id,name,score\n1,one,0.5\n2,two,1.5\n")
    lines = [{"id": 2, "name": "TWO", "score": 2.5}, {"id": 3, "name": "three", "score": 3}]
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert main(["import", "t", str(tmp_path / "a.csv")]) == 0
    assert main(["import", "t", str(tmp_path / "b.jsonl")]) == 0
    assert "created namespace" not in capsys.readouterr().err.split("import t: 2 rows")[1]
    with connect() as con:
        rows = con.execute("SELECT * FROM t ORDER BY id").fetchall()
    assert rows == [(1, "one", 0.5), (2, "TWO", 2.5), (3, "three", 3.0)]


def test_import_jsonl_vectors_named_with_vector(env, tmp_path):
    docs = [{"pk": i, "text": f"t{i}", "v": [float(i), 1.0, 0.0]} for i in range(1, 6)]
    (tmp_path / "v.ndjson").write_text("".join(json.dumps(d) + "\n" for d in docs))
    argv = ["import", "vecs", str(tmp_path / "v.ndjson"), "--key", "pk", "--vector", "v"]
    assert main(argv) == 0
    with connect() as con:
        (row,) = con.execute(
            "SELECT pk FROM vector_search('vecs', [5.0, 1.0, 0.0]::FLOAT[3], 1)"
        ).fetchall()
        assert row == (5,)
        assert con.execute("SELECT count(*) FROM vecs").fetchone() == (5,)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["import", "x", "nofile.parquet"], "nofile.parquet: no such file"),
        (["import", "x", "data.xlsx"], "data.xlsx: unknown file type"),
        (["import", "x", "{csv}", "--key", "nope"], "has no column 'nope'"),
        (["import", "x", "{csv}", "--vector", "name"], "--vector name: a list of numbers"),
    ],
)
def test_import_errors_name_the_problem(env, capsys, tmp_path, argv, message):
    (tmp_path / "a.csv").write_text("id,name\n1,one\n")
    argv = [a.replace("{csv}", str(tmp_path / "a.csv")) for a in argv]
    env.chdir(tmp_path)
    assert main(argv) == 1
    assert message in capsys.readouterr().err
    with connect() as con:  # nothing was created
        assert con.execute("SELECT count(*) FROM elacsym_namespaces()").fetchone() == (0,)


def test_bad_rows_write_nothing_of_their_batch(env, capsys, tmp_path):
    (tmp_path / "a.csv").write_text("id,name\n1,one\n2,two\n")
    (tmp_path / "dup.csv").write_text("id,name\n3,three\n3,again\n")
    assert main(["import", "t", str(tmp_path / "a.csv")]) == 0
    assert main(["import", "t", str(tmp_path / "dup.csv")]) == 1
    assert "23505" in capsys.readouterr().err
    with connect() as con:
        assert con.execute("SELECT count(*) FROM t").fetchone() == (2,)


def test_progress_on_a_terminal_redraws_one_line_with_rate_and_eta():
    out = io.StringIO()
    progress = Progress("import docs", out, tty=True)
    progress.update(500, 0.5)
    progress.done(1000)
    text = out.getvalue()
    assert text.startswith("\r\x1b[K[############") and " 50% import docs: 500 rows" in text
    assert "rows/s, ETA" in text
    assert text.endswith("import docs: 1,000 rows in " + text.rsplit(" in ", 1)[1])
    assert text.count("\n") == 1  # the bar was redrawn in place, one final line


def test_import_on_a_terminal_draws_a_bar(env, tmp_path):
    from .terminal import Terminal

    pq.write_table(pa.table({"id": pa.array(np.arange(50_000))}), tmp_path / "n.parquet")
    environment = dict(os.environ)  # the env fixture's settings, and this checkout
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")) if p
    )
    argv = [sys.executable, "-m", "elacsym_sql.cli", "import", "n", str(tmp_path / "n.parquet")]
    term = Terminal([*argv, "--batch-rows", "10000"], environment)
    try:
        term.expect(r"\r\x1b\[K\[#+ *\]  20% import n: 10,000 rows, [\d,]+ rows/s, ETA \d+s")
        term.expect(r"\r\x1b\[Kimport n: 50,000 rows in [\d.]+ s")
        assert term.wait() == 0
    finally:
        term.close()
