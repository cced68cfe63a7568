"""Embedded connections keep DuckDB's ordinary file access (their user's own files), but no
statement writes into the storage root or the disk cache: a COPY over a WAL object would
corrupt the namespace (issue 9). Relative names, `..`, `~` and symlinks are resolved."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import elacsym_sql
from elacsym_sql import errors


@pytest.fixture
def con(tmp_path: Path):
    c = elacsym_sql.connect(
        str(tmp_path / "data"), cache_dir=str(tmp_path / "cache"), indexer=False
    )
    c.execute("CREATE TABLE docs (id BIGINT PRIMARY KEY, title TEXT)")
    c.execute("INSERT INTO docs VALUES (1, 'a'), (2, 'b')")
    yield c
    c.close()


def _files(root: Path) -> dict[str, int]:
    return {
        os.path.join(d, n): os.lstat(os.path.join(d, n)).st_size
        for d, _, names in os.walk(root)
        for n in names
    }


@pytest.mark.parametrize(
    "target",
    [
        "{tmp}/data/docs/wal/00000000000000000002.arrow",
        "{tmp}/data/docs/wal",
        "{tmp}/data/../data/docs/manifest/latest",
        "{tmp}/rootlink/docs/wal/00000000000000000003.arrow",
        "{tmp}/cache/v1/objects/x.parquet",
        "data/docs/wal/00000000000000000002.arrow",  # relative to the working directory
    ],
)
@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT 'garbage' AS g) TO '{target}'",
        "COPY docs TO '{target}' (FORMAT parquet)",
        "COPY (SELECT 1 AS x) TO '{target}' (FORMAT csv, PARTITION_BY (x))",
        "EXPORT DATABASE '{target}'",
        "ATTACH '{target}' AS x",
        "SET temp_directory = '{target}'",
        "PREPARE p AS COPY (SELECT 1) TO '{target}'",
    ],
)
def test_writing_into_the_root_or_cache_is_refused(con, tmp_path, monkeypatch, sql, target):
    os.symlink(tmp_path / "data", tmp_path / "rootlink")
    monkeypatch.chdir(tmp_path)
    before = _files(tmp_path)
    with pytest.raises(errors.InsufficientPrivilege) as failed:
        con.execute(sql.format(target=target.format(tmp=tmp_path)))
    assert "the storage root and its cache cannot be written through SQL" in str(failed.value)
    assert _files(tmp_path) == before
    assert con.execute("SELECT id FROM docs ORDER BY id").fetchall() == [(1,), (2,)]


def test_a_computed_file_name_is_refused(con, tmp_path):
    with pytest.raises(errors.NotSupportedError, match="string literal"):
        con.execute(f"COPY (SELECT 1) TO ('{tmp_path}/da' || 'ta/docs/wal/x.arrow')")
    assert not (tmp_path / "data" / "docs" / "wal" / "x.arrow").exists()


def test_the_users_own_files_work_as_in_duckdb(con, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    pq.write_table(pa.table({"id": [5, 6], "title": ["e", "f"]}), mine / "rows.parquet")
    assert con.execute(f"SELECT count(*) FROM read_parquet('{mine}/rows.parquet')").fetchone() == (
        2,
    )
    con.execute(f"INSERT INTO docs SELECT * FROM read_parquet('{mine}/rows.parquet')")
    con.execute(f"COPY (SELECT id, title FROM docs ORDER BY id) TO '{mine}/out.csv' (HEADER)")
    assert (mine / "out.csv").read_text().splitlines() == ["id,title", "1,a", "2,b", "5,e", "6,f"]
    (mine / "note.txt").write_text("hello")
    assert con.execute(f"SELECT content FROM read_text('{mine}/note.txt')").fetchone() == ("hello",)
    # Reading the root is reading one's own data: allowed embedded.
    assert con.execute(f"SELECT count(*) FROM glob('{tmp_path}/data/docs/wal/*')").fetchone()[0]
