"""Files `elacsym import` reads, as Arrow record batches with how far through them it is:
Parquet (row groups streamed), CSV (streamed), JSON Lines (one object per line)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from ..errors import InvalidParameterValue

FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


@dataclass
class Source:
    path: str
    format: str
    schema: pa.Schema
    rows: int | None  # known up front for Parquet and JSON Lines


def open_source(path: str) -> Source:
    fmt = FORMATS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise InvalidParameterValue(
            f"{path}: unknown file type (want {', '.join(sorted(FORMATS))})"
        )
    if not os.path.isfile(path):
        raise InvalidParameterValue(f"{path}: no such file")
    if fmt == "parquet":
        meta = pq.ParquetFile(path)
        return Source(path, fmt, meta.schema_arrow, meta.metadata.num_rows)
    if fmt == "csv":
        with pa_csv.open_csv(path) as reader:
            return Source(path, fmt, reader.schema, None)
    table = _read_jsonl(path)
    return Source(path, fmt, table.schema, table.num_rows)


def batches(source: Source, rows: int) -> Iterator[tuple[pa.RecordBatch, float]]:
    """The file's rows in batches of about `rows`, each with the fraction of the file read."""
    if source.format == "parquet":
        done, total = 0, max(source.rows or 0, 1)
        for batch in pq.ParquetFile(source.path).iter_batches(batch_size=rows):
            done += batch.num_rows
            yield batch, done / total
    elif source.format == "csv":
        size = max(os.path.getsize(source.path), 1)
        with open(source.path, "rb") as f, pa_csv.open_csv(f) as reader:
            pending: list[pa.RecordBatch] = []
            for batch in reader:
                pending.append(batch)
                if sum(b.num_rows for b in pending) >= rows:
                    yield (
                        pa.Table.from_batches(pending).combine_chunks().to_batches()[0],
                        f.tell() / size,
                    )
                    pending = []
            if pending:
                yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0], 1.0
    else:
        table = _read_jsonl(source.path)
        total = max(table.num_rows, 1)
        done = 0
        for batch in table.to_batches(max_chunksize=rows):
            done += batch.num_rows
            yield batch, done / total


def _read_jsonl(path: str) -> pa.Table:
    try:
        return pa_json.read_json(path)
    except pa.ArrowInvalid as exc:
        raise InvalidParameterValue(f"{path}: not JSON Lines: {exc}") from None
