"""Command-line flags made from declared settings (dataclass fields with help text).

Each field `cache_bytes` becomes `--cache-bytes`, its help the field's help plus its default
and environment variable; a bool becomes `--indexer/--no-indexer`, a list a repeatable flag.
Flags default to "not given" (SUPPRESS), so a flag both before and after the subcommand
works, and the value's source is known (config_sources.resolve).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from ..config_values import kind, show_value


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_flags(group: Any, fields: Iterable[dataclasses.Field[Any]]) -> None:
    """One flag per field on `group` (a parser or an argument group)."""
    for f in fields:
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
        text = f"{f.metadata['help']} (default {show_value(f, default)}; ${env_name(f.name)})"
        text = text.replace("%", "%%")  # argparse formats help with %
        options: dict[str, Any] = {"default": argparse.SUPPRESS, "help": text}
        if kind(f) == "bool":
            options["action"] = argparse.BooleanOptionalAction
        elif kind(f) == "list":
            options |= {"action": "append", "metavar": "DIR"}
        else:
            options["metavar"] = _metavar(f)
        group.add_argument(flag(f.name), **options)


def _metavar(f: dataclasses.Field[Any]) -> str:
    if "metavar" in f.metadata:
        return f.metadata["metavar"]
    if kind(f) in ("size", "int"):
        return "SIZE" if kind(f) == "size" else "N"
    if f.name.endswith("_seconds"):
        return "SECONDS"
    return f.name.rsplit("_", 1)[-1].upper()


def given(args: argparse.Namespace, fields: Sequence[dataclasses.Field[Any]]) -> dict[str, Any]:
    """The fields given as flags: name -> text (or a tuple, for a list)."""
    out: dict[str, Any] = {}
    for f in fields:
        if hasattr(args, f.name):
            value = getattr(args, f.name)
            out[f.name] = tuple(value) if isinstance(value, list) else value
    return out


def env_name(name: str) -> str:
    return f"ELACSYM_{name.upper()}"
