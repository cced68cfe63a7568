"""JSONB values in Postgres's normal form, as a JSONB column keeps them.

Postgres parses jsonb input and prints it back its own way: object keys once (the last
of duplicates), shorter keys first then by their bytes, `": "` and `", "` between items,
numbers as numerics (`1e2` is `100`, `2.50` keeps its scale, `-0.0` is `0.0`), strings
with only the escapes JSON requires. A JSONB column stores that form, so reads, equality
and the wire show what Postgres would.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pyarrow as pa

from .errors import InvalidTextRepresentation


def normal_form(text: str) -> str:
    """`text` (JSON) in jsonb's normal form; 22P02 if it is not JSON."""
    try:
        value = json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse)
    except ValueError:
        shown = text if len(text) <= 100 else text[:100] + "..."
        raise InvalidTextRepresentation(f'invalid input syntax for type json: "{shown}"') from None
    return _dump(value)


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python reads them, JSON has none


def _dump(value: Any) -> str:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        items = (f"{_string(k)}: {_dump(value[k])}" for k in keys)
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dump(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return format(value.copy_abs() if value.is_zero() else value, "f")
    if isinstance(value, str):
        return _string(value)
    return json.dumps(value)  # true, false, null


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def normal_forms(column: pa.Array) -> pa.Array:
    """A column of JSON texts (NULLs kept) in jsonb's normal form."""
    return pa.array(
        [None if v is None else normal_form(v) for v in column.to_pylist()], pa.string()
    )
