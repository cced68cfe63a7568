"""A setting's value read from text (environment, flags) or from TOML, and shown back.

Settings and server options are dataclass fields whose type annotation says how to read
them: bool, int, float, str, `str | None`, `tuple[str, ...]` (a list), and int fields whose
metadata says `size` take sizes (`4GB`, `512MiB`, `1.5GiB`, plain bytes). SI units are
powers of 1000 and IEC units powers of 1024, as DuckDB reads them (decision 0042).
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

from .errors import InvalidParameterValue

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def kind(f: dataclasses.Field[Any]) -> str:
    """How the field reads: bool, int, size, float, str, optional or list."""
    annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
    if annotation == "int" and f.metadata.get("size"):
        return "size"
    if annotation.startswith("tuple"):
        return "list"
    if annotation.endswith("| None"):
        return "optional"
    return annotation


def parse_size(raw: str) -> int:
    """Bytes in `raw`: 4096, 4GB, 512MiB, 1.5 GiB; ValueError when it is none of these."""
    found = _SIZE.fullmatch(raw)
    if found is None or found.group(2).lower() not in _UNITS:
        raise ValueError(raw)
    return round(float(found.group(1)) * _UNITS[found.group(2).lower()])


def parse_value(f: dataclasses.Field[Any], raw: Any, origin: str) -> Any:
    """`raw` (text, or a TOML value) as the field's type; 22023 naming `origin` when it
    is not one."""
    want = kind(f)
    try:
        value = _convert(want, raw)
    except (ValueError, TypeError):
        example = {"size": " (e.g. 4GB, 512MiB or bytes)", "bool": " (true or false)"}
        raise InvalidParameterValue(
            f"{origin} = {raw!r} is not a valid {want}{example.get(want, '')}"
        ) from None
    return check_choice(f, value, origin)


def check_choice(f: dataclasses.Field[Any], value: Any, origin: str) -> Any:
    """`value`, when the field lists its choices (metadata `choices`) and it is one."""
    choices = f.metadata.get("choices")
    if choices is not None and value not in choices:
        raise InvalidParameterValue(f"{origin} = {value!r}: one of {', '.join(choices)}")
    return value


def _convert(want: str, raw: Any) -> Any:
    if isinstance(raw, os.PathLike) and want in ("str", "optional"):
        return os.fspath(raw)  # connect(tmp_path / "data")
    if isinstance(raw, str):
        return _from_text(want, raw)
    if want in ("int", "size") and isinstance(raw, float) and raw.is_integer():
        return int(raw)  # cache_bytes=4e9
    if want == "bool" and isinstance(raw, bool):
        return raw
    if want in ("int", "size") and isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if want == "float" and isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if want in ("str", "optional") and isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)  # a TOML number where text is wanted: a port, say
    if want == "list" and isinstance(raw, list | tuple) and all(isinstance(v, str) for v in raw):
        return tuple(raw)
    raise TypeError(raw)


def _from_text(want: str, raw: str) -> Any:
    if want == "bool":
        if raw.lower() not in _TRUE + _FALSE:
            raise ValueError(raw)
        return raw.lower() in _TRUE
    if want == "int":
        return int(raw)
    if want == "size":
        return parse_size(raw)
    if want == "float":
        return float(raw)
    if want == "list":  # directories, as PATH lists them
        return tuple(d for d in raw.split(os.pathsep) if d)
    return raw


def show_value(f: dataclasses.Field[Any], value: Any) -> str:
    """The value as `elacsym config` and --help print it: sizes in the largest IEC unit that
    holds them exactly, secrets hidden."""
    if value is None:
        return "(none)"
    if f.metadata.get("secret"):
        return "(set)"
    if kind(f) == "size":
        return show_size(value)
    if kind(f) == "list":
        return os.pathsep.join(value) or "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if value != "" else "''"


def show_size(n: int) -> str:
    """In the largest unit that holds `n` exactly: 4GiB, 4GB, 1500kB, 100."""
    for unit in ("TiB", "TB", "GiB", "GB", "MiB", "MB", "KiB", "kB"):
        if n and n % _UNITS[unit.lower()] == 0:
            return f"{n // _UNITS[unit.lower()]}{unit}"
    return str(n)
