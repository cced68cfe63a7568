"""`elacsym import NS FILE...`: load files into a namespace, creating it from the first
file's schema when it does not exist. Each batch is one atomic INSERT (an upsert by key)
through the same path as SQL's, so the namespace's checks apply to every row."""

from __future__ import annotations

import argparse
import sys

import pyarrow as pa

from ..errors import InvalidParameterValue
from ..sql import Connection
from .import_files import Source, batches, open_source
from .progress import Progress
from .sql_text import quote

_SCALARS = [
    (pa.types.is_boolean, "BOOLEAN"),
    (lambda t: pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t), "SMALLINT"),
    (lambda t: pa.types.is_int32(t) or pa.types.is_uint16(t), "INTEGER"),
    (pa.types.is_integer, "BIGINT"),
    (pa.types.is_float32, "REAL"),
    (pa.types.is_floating, "DOUBLE PRECISION"),
    (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "TEXT"),
    (lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t), "BYTEA"),
    (pa.types.is_date, "DATE"),
    (lambda t: pa.types.is_timestamp(t) and t.tz is not None, "TIMESTAMPTZ"),
    (pa.types.is_timestamp, "TIMESTAMP"),
    (pa.types.is_time, "TIME"),
]
_STAGED = "__elacsym_import_batch"  # the name a batch is queried by in the INSERT


def run_import(con: Connection, args: argparse.Namespace) -> int:
    sources = [open_source(path) for path in args.files]
    ns = args.namespace
    if ns not in con.database.engine.list_namespaces():
        con.execute(create_statement(ns, sources[0], args))
        print(f"created namespace {ns}", file=sys.stderr)
    columns = ", ".join(quote(f.name) for f in sources[0].schema)
    insert = f"INSERT INTO {quote(ns)} ({columns}) SELECT {columns} FROM {_STAGED}"
    total = sum(s.rows for s in sources) if all(s.rows is not None for s in sources) else None
    progress = Progress(f"import {ns}")
    done = 0
    for index, source in enumerate(sources):
        if source.schema.names != sources[0].schema.names:
            raise InvalidParameterValue(
                f"{source.path}: columns {source.schema.names} differ from "
                f"{sources[0].path}'s {sources[0].schema.names}"
            )
        for batch, fraction in batches(source, args.batch_rows):
            con.register(_STAGED, pa.Table.from_batches([batch]))
            try:
                con.execute(insert)
            finally:
                con.unregister(_STAGED)
            done += batch.num_rows
            whole = done / total if total else (index + fraction) / len(sources)
            progress.update(done, whole)
    progress.done(done)
    return 0


def create_statement(ns: str, source: Source, args: argparse.Namespace) -> str:
    """CREATE TABLE for the file's columns: `--key` (or `id`) the primary key, fixed-size
    float lists and `--vector` columns vectors, `--full-text` columns indexed for search."""
    schema = source.schema
    key = args.key or ("id" if "id" in schema.names else None)
    for name in [key, *args.vector, *_split(args.full_text)]:
        if name is not None and name not in schema.names:
            raise InvalidParameterValue(f"{source.path} has no column {name!r}")
    first = next(batches(source, 1000), (None, 0.0))[0]
    defs = []
    for f in schema:
        sql_type = _column_type(f, f.name in args.vector, first)
        defs.append(f"{quote(f.name)} {sql_type}{' PRIMARY KEY' if f.name == key else ''}")
    options = [f"metric = '{args.metric}'"]
    if args.full_text:
        options.append(f"full_text = '{', '.join(_split(args.full_text))}'")
    return f"CREATE TABLE {quote(ns)} ({', '.join(defs)}) WITH ({', '.join(options)})"


def _column_type(f: pa.Field, vector: bool, first: pa.RecordBatch | None) -> str:
    t = f.type
    if pa.types.is_fixed_size_list(t) and pa.types.is_floating(t.value_type):
        return f"FLOAT[{t.list_size}]"
    if vector:
        listed = pa.types.is_list(t) or pa.types.is_large_list(t)
        if not listed or not (
            pa.types.is_floating(t.value_type) or pa.types.is_integer(t.value_type)
        ):
            raise InvalidParameterValue(f"--vector {f.name}: a list of numbers, not {t}")
        dims = [len(v) for v in (first.column(f.name).to_pylist() if first else []) if v]
        if not dims:
            raise InvalidParameterValue(f"--vector {f.name}: no value to tell its dimension")
        return f"FLOAT[{dims[0]}]"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return _scalar(f.name, t.value_type) + "[]"
    if pa.types.is_decimal(t):
        return f"NUMERIC({t.precision},{t.scale})"
    return _scalar(f.name, t)


def _scalar(name: str, t: pa.DataType) -> str:
    for test, sql_type in _SCALARS:
        if test(t):
            return sql_type
    raise InvalidParameterValue(f"column {name!r}: cannot import type {t}")


def _split(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]
