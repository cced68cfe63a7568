"""Running generated SQL with the subset of a statement's parameters it uses."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot.tokens import TokenType

from .parse import DIALECT
from .session.statement_memory import charge

BATCH_ROWS = 65_536  # rows DuckDB hands over at a time while a statement's rows are read


def renumber(sql: str, params: Sequence[Any]) -> tuple[str, list[Any]]:
    """Rewrite `$n` parameters of `sql` as $1..$m over the ones it uses.

    DuckDB insists on exactly as many values as the statement has parameters, and a
    generated piece of a statement uses only some of the statement's parameters.
    """
    if not params:
        return sql, []
    tokens = sqlglot.tokenize(sql, read=DIALECT)
    spots: list[tuple[int, int, int]] = []  # (start, end, number)
    for tok, nxt in itertools.pairwise(tokens):
        if (
            tok.token_type == TokenType.PARAMETER
            and nxt.token_type == TokenType.NUMBER
            and nxt.start == tok.end + 1
        ):
            spots.append((tok.start, nxt.end, int(nxt.text)))
    used = sorted({n for _, _, n in spots})
    new_number = {old: i + 1 for i, old in enumerate(used)}
    out, last = [], 0
    for start, end, n in spots:
        out.append(sql[last:start])
        out.append(f"${new_number[n]}")
        last = end + 1
    out.append(sql[last:])
    return "".join(out), [params[n - 1] for n in used]


def run_arrow(
    cur: duckdb.DuckDBPyConnection,
    sql: str,
    params: Sequence[Any],
    what: str = "the rows the statement writes",
) -> pa.Table:
    """Run `sql` on `cur` and return every row as Arrow, read batch by batch against the
    statement's memory limit (statement_memory.py: `what` names them in its error)."""
    text, values = renumber(sql, params)
    cur.abort()  # a previous result on this cursor is superseded, as DB-API says
    reader = cur.sql(text, params=values or None).to_arrow_reader(BATCH_ROWS)
    schema, batches = reader.schema, []
    try:
        for batch in reader:
            charge(batch.nbytes, what)
            batches.append(batch)
    finally:
        reader.close()
    return pa.Table.from_batches(batches, schema)
