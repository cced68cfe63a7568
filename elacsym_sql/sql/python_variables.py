"""Embedded `SELECT * FROM df`: a DataFrame, Arrow table or DuckDB relation held in a variable
of the code that calls `execute` is queryable by its name, as in DuckDB's Python API, unless
a table or view of that name exists (decision 0092).

DuckDB's own lookup (`python_enable_replacements`) is off: it searches every frame on the
stack, this package's included, so a missing table named like one of our locals was that
local (22023 instead of 42P01), and a wire client could query the server's own objects.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from types import FrameType
from typing import Any

import duckdb

_PACKAGE = __name__.split(".")[0] + "."
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Libraries whose tables DuckDB's `register` takes.
_TABLE_LIBRARIES = frozenset({"pandas", "pyarrow", "polars", "duckdb", "_duckdb"})


def caller_frame() -> FrameType | None:
    """The innermost frame outside this package: the user's code."""
    frame = inspect.currentframe()
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_PACKAGE):
        frame = frame.f_back
    return frame


def register_caller_tables(
    duck: duckdb.DuckDBPyConnection,
    sql: str,
    frame: FrameType | None,
    is_table: Callable[[str], bool],
) -> list[str]:
    """Register on `duck` each table-like variable of `frame` (a local, else a global)
    whose name is a word of `sql` and not a table (`is_table`); returns the names
    registered. Most callers hold no table: then `sql` is not even scanned."""
    candidates = _table_variables(frame) if frame is not None else {}
    if not candidates:
        return []
    registered = []
    for name in sorted(candidates.keys() & set(_WORD.findall(sql))):
        if is_table(name):
            continue
        try:
            duck.register(name, candidates[name])
        except (duckdb.Error, TypeError, ValueError):
            continue  # not a table DuckDB can scan: the name stays unknown, as in DuckDB
        registered.append(name)
    return registered


def _table_variables(frame: FrameType) -> dict[str, Any]:
    """The frame's variables that hold a table, a local hiding a global of its name."""
    scope = {**frame.f_globals, **frame.f_locals}
    return {
        name: value
        for name, value in scope.items()
        if type(value).__module__.split(".")[0] in _TABLE_LIBRARIES
    }
