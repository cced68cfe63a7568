"""Rows as psql prints them: an aligned table, numbers to the right, NULL as nothing, arrays
as {a,b}, booleans as t/f, and a "(n rows)" footer."""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

_MAX_WIDTH = 80  # longer values (vectors) are cut with "…" to keep the table readable


def cell(value: Any, real: bool = False) -> str:
    """`real`: the column holds 4-byte floats, shown with the digits a float4 has (0.1, not
    0.10000000149011612), as Postgres shows them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, list | tuple):
        return "{" + ",".join("NULL" if v is None else cell(v, real) for v in value) + "}"
    if real and isinstance(value, float):
        return str(np.float32(value))
    return str(value)


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def print_table(
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    out: TextIO,
    footer: bool = True,
    types: Sequence[str] | None = None,
    cut: bool = True,
) -> None:
    """`types`: the columns' DuckDB types, when known; `cut`: shorten long values."""
    real = [str(t).startswith("FLOAT") for t in types] if types else [False] * len(names)
    texts = [[cell(v, r) for v, r in zip(row, real, strict=True)] for row in rows]
    if cut:
        texts = [[_cut(text) for text in row] for row in texts]
    widths = [max([len(n)] + [len(r[i]) for r in texts]) for i, n in enumerate(names)]
    right = [
        bool(rows) and all(_numeric(r[i]) or r[i] is None for r in rows) for i in range(len(names))
    ]
    header = " | ".join(n.center(w) for n, w in zip(names, widths, strict=True))
    out.write(" " + header.rstrip() + "\n")
    out.write("-" + "-+-".join("-" * w for w in widths) + "-\n")
    for row in texts:
        line = " | ".join(
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(row, widths, right, strict=True)
        )
        out.write(" " + line.rstrip() + "\n")
    if footer:
        out.write(f"({len(rows)} row{'' if len(rows) == 1 else 's'})\n")
    out.write("\n")


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_WIDTH else text[: _MAX_WIDTH - 1] + "…"
