"""DuckDB's database-wide lock for a served database, and how file names resolve.

`enable_external_access`, `allowed_directories` and `lock_configuration` are DuckDB
settings of the whole database, and once off, access cannot be turned on again: a
database served to wire clients stays locked (for its embedded users too).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import duckdb


def resolve(path: str) -> str | None:
    """The real absolute path a local file name reaches (symlinks and `..` resolved, `~`
    expanded, relative to the working directory as DuckDB takes it); None for a URL."""
    if "://" in path:
        return None
    return os.path.realpath(os.path.expanduser(path))


def inside(path: str, dirs: Iterable[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs)


def protected_locations(data: str, cache_dir: str) -> tuple[str, ...]:
    """The storage root (a real path, or its URI) and the disk cache: never written by SQL."""
    root = resolve(data) or data.rstrip("/")
    return (root, resolve(cache_dir) or cache_dir)


def lock_down(duck: duckdb.DuckDBPyConnection, readable: Iterable[str]) -> None:
    """Turn DuckDB's file and network access off for the whole database except reading
    `readable` directories (as written and resolved), and lock its configuration."""
    dirs = sorted({p for d in readable for p in (os.path.abspath(d), resolve(d)) if p})
    duck.execute("SET allowed_directories = ?", [[d.rstrip("/") + "/" for d in dirs]])
    duck.execute("SET enable_external_access = false")
    duck.execute("SET autoinstall_known_extensions = false")
    duck.execute("SET autoload_known_extensions = false")
    duck.execute("SET lock_configuration = true")
