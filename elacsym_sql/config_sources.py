"""Where settings come from, in rising priority: defaults, a TOML file, the environment,
flags (or `connect()` keywords). Each value keeps the name of its source for `elacsym config`.

The TOML file takes our settings by name at the top level (`cache_bytes = "4GB"`) and the
original elacsym's sectioned keys (`[cache] disk_size`), the environment our `ELACSYM_<NAME>`
and the original's spellings (HTTP_API.md, "Settings the original read"). An unknown key
or a bad value is an error naming it (decision 0042).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .config_values import parse_value
from .errors import InvalidParameterValue

Field = dataclasses.Field[Any]
Assignment = tuple[str, Any, str]  # (setting name, raw value, where it was written)

# The original's TOML keys and environment spellings with a setting of the same meaning.
ORIGINAL_KEYS = {
    "storage.local.root_path": "data",
    "storage.s3.region": "s3_region",
    "storage.s3.endpoint": "s3_endpoint",
    "cache.memory_size": "memory_cache_bytes",
    "cache.disk_size": "cache_bytes",
    "cache.disk_path": "cache_dir",
    "compaction.enabled": "indexer",
    "compaction.interval_secs": "fold_interval_seconds",
    "compaction.max_segments": "compact_min_segments",
    "logging.level": "log_level",
    "logging.format": "log_format",
    "distributed.node_id": "node_id",
    "distributed.enabled": "cluster",
    "distributed.role": "node_role",
    "distributed.indexer_cluster.nodes": "peers",
    "server.host": "http_host",
    "server.port": "http",
}
ORIGINAL_ENV = {
    "ELACSYM_STORAGE_PATH": "data",
    "ELACSYM_STORAGE_S3_REGION": "s3_region",
    "ELACSYM_STORAGE_S3_ENDPOINT": "s3_endpoint",
    "ELACSYM_LOG": "log_level",
    "ELACSYM_HOST": "http_host",
    "ELACSYM_PORT": "http",
    "ELACSYM_SERVER_HOST": "http_host",
    "ELACSYM_SERVER_PORT": "http",
    "ELACSYM_NODE_TYPE": "node_role",  # the original's guide: ELACSYM_NODE_TYPE=query
}
_BUCKET_ENV = ("ELACSYM_STORAGE_S3_BUCKET", "ELACSYM_S3_BUCKET")
# The original's README started a cluster with ELACSYM_TOTAL_NODES (and ELACSYM_NODE_INDEX,
# its place in `hash % N`): here N > 1 joins the cluster and ownership is by rendezvous
# hashing, so the index is checked but has no other use (decision 0056).
_NODE_COUNT_ENV = ("ELACSYM_TOTAL_NODES", "ELACSYM_NODE_INDEX")
_RUST_LEVELS = {"trace": "debug", "debug": "debug", "info": "info", "warn": "warning"}
_RUST_LEVELS |= {"warning": "warning", "error": "warning"}


@dataclass
class Resolved:
    values: dict[str, Any]
    sources: dict[str, str]  # name -> "default", "config.toml: cache.disk_size", "env ...", ...


def resolve(
    fields: Sequence[Field],
    environ: Mapping[str, str],
    overrides: Mapping[str, Any],
    *,
    file: str | None = None,
    override_origin: Callable[[str], str] = lambda name: name,
) -> Resolved:
    """The fields' values from their defaults, `file` (TOML), `environ` and `overrides`."""
    by_name = {f.name: f for f in fields}
    out = Resolved({}, {})
    for f in fields:
        value = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
        out.values[f.name], out.sources[f.name] = value, "default"
    layers: list[tuple[str, Iterable[Assignment]]] = []
    if file is not None:
        layers.append((f"{file}: ", _file_assignments(file, by_name)))
    layers.append(("env ", _env_assignments(environ, by_name)))
    flags = [(n, v, override_origin(n)) for n, v in overrides.items() if v is not None]
    layers.append(("", flags))
    for prefix, assignments in layers:
        for name, raw, origin in assignments:
            if name not in by_name:
                if prefix == "":
                    raise InvalidParameterValue(f"unknown setting: {name}")
                continue  # a setting of another part (the server's), not read here
            out.values[name] = parse_value(by_name[name], raw, prefix + origin)
            out.sources[name] = prefix + origin
    return out


def config_file(environ: Mapping[str, str], given: str | None, default: str | None) -> str | None:
    """The TOML file to read: `given` (--config), else $ELACSYM_CONFIG, else `default` when it
    exists. A file named explicitly must exist."""
    path = given or environ.get("ELACSYM_CONFIG")
    if path:
        if not os.path.isfile(path):
            raise InvalidParameterValue(f"config file {path} does not exist")
        return path
    return default if default is not None and os.path.isfile(default) else None


def _file_assignments(path: str, by_name: Mapping[str, Field]) -> list[Assignment]:
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidParameterValue(f"{path}: not valid TOML: {exc}") from None
    flat = dict(_flatten(table))
    out: list[Assignment] = []
    unknown = []
    out += _storage_backend(flat)
    for key, value in flat.items():
        if key in ORIGINAL_KEYS:
            out.append((ORIGINAL_KEYS[key], _original_value(key, value), key))
        elif key in by_name:
            out.append((key, value, key))
        else:
            unknown.append(key)
    if unknown:
        raise InvalidParameterValue(f"{path}: unknown key(s): {', '.join(unknown)}")
    return out


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield prefix + key, value


def _storage_backend(flat: dict[str, Any]) -> list[Assignment]:
    """`storage.backend` = local (`storage.local.root_path`) or s3 (`storage.s3.bucket`) as
    our `data`; takes the keys it reads out of `flat`."""
    bucket = flat.pop("storage.s3.bucket", None)
    backend = flat.pop("storage.backend", "local" if bucket is None else "s3")
    if backend == "local":
        return []  # storage.local.root_path, if given, is the data directory
    if backend != "s3":
        raise InvalidParameterValue(f"storage.backend = {backend!r}: local or s3")
    if bucket is None:
        raise InvalidParameterValue("storage.backend = 's3' wants storage.s3.bucket")
    flat.pop("storage.local.root_path", None)  # the other backend's, unused
    return [("data", f"s3://{bucket}", "storage.s3.bucket")]


def _env_assignments(environ: Mapping[str, str], by_name: Mapping[str, Field]) -> list[Assignment]:
    """The original's spellings first, so our own ELACSYM_<NAME> wins over them."""
    out: list[Assignment] = []
    for var in _BUCKET_ENV:
        if var in environ:
            out.append(("data", f"s3://{environ[var]}", var))
    for var, name in ORIGINAL_ENV.items():
        if var in environ:
            out.append((name, _level(environ[var]) if name == "log_level" else environ[var], var))
    for var in _NODE_COUNT_ENV:
        if var in environ:
            count = _count(var, environ[var])
            if var == "ELACSYM_TOTAL_NODES":
                out.append(("cluster", count > 1, var))
    for name in by_name:
        var = f"ELACSYM_{name.upper()}"
        if var in environ:
            out.append((name, environ[var], var))
    return out


def unknown_env(environ: Mapping[str, str], names: Iterable[str]) -> list[str]:
    """ELACSYM_* variables no setting reads (typos, most likely)."""
    known = {f"ELACSYM_{n.upper()}" for n in names} | set(ORIGINAL_ENV) | set(_BUCKET_ENV)
    known |= set(_NODE_COUNT_ENV) | {"ELACSYM_CONFIG"}
    return sorted(v for v in environ if v.startswith("ELACSYM_") and v not in known)


def _level(text: Any) -> Any:
    """A RUST_LOG-like filter (`info`, `elacsym=debug,tower=warn`) as our log level."""
    if not isinstance(text, str):
        return text
    items = [item.strip() for item in text.split(",") if item.strip()]
    ours = [i.split("=", 1)[1] for i in items if i.startswith("elacsym") and "=" in i]
    bare = [i for i in items if "=" not in i]
    level = (ours or bare or [text])[-1].lower()
    return _RUST_LEVELS.get(level, text)


def _original_value(key: str, value: Any) -> Any:
    """An original key's value as our setting reads it."""
    if key == "logging.level":
        return _level(value)
    if key == "distributed.indexer_cluster.nodes" and isinstance(value, list):
        return ",".join(str(v) for v in value)  # its member ids, as --peers lists them
    return value


def _count(var: str, raw: str) -> int:
    """ELACSYM_TOTAL_NODES / ELACSYM_NODE_INDEX: a whole number, else an error naming it."""
    if not raw.strip().isdigit():
        raise InvalidParameterValue(f"env {var} = {raw!r} is not a valid int")
    return int(raw)
