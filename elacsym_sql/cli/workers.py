"""`elacsym serve --workers N`: what the parent hands each worker process (which of the N it
is, the shared listeners, its pipes) and what a worker makes of the host's settings: a
member id of its own and its share of the memory settings (decision 0078)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass

from ..cluster import host_of, parse_peers, worker_id
from ..config_values import parse_size
from ..host import memory_bytes
from ..server import check_options
from .settings import Loaded

#: The variable carrying a worker's spec; outside ELACSYM_*, as it is no setting.
ENV = "_ELACSYM_WORKER"
DUCKDB_DEFAULT_SHARE = 0.8  # DuckDB's own default memory_limit: 80% of the host's memory


@dataclass(frozen=True)
class WorkerSpec:
    index: int
    count: int
    pg_fd: int  # the shared Postgres-wire listener
    http_fd: int | None  # the shared HTTP listener (None: HTTP off)
    ready_fd: int  # the worker writes one JSON line here once it serves
    lifeline_fd: int  # the parent holds the other end: end of file means it is gone

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WorkerSpec | None:
        text = environ.get(ENV)
        return None if text is None else cls(**json.loads(text))

    @property
    def fds(self) -> tuple[int, ...]:
        return tuple(fd for fd in (self.pg_fd, self.http_fd, self.ready_fd, self.lifeline_fd)
                     if fd is not None)  # fmt: skip


def sibling_id(own_id: str, index: int) -> str:
    """The member id of worker `index` of the same host as the worker `own_id`."""
    return worker_id(host_of(own_id) or own_id, index)


def check_workers(loaded: Loaded) -> None:
    """What must hold before N workers are started (ValueError / 22023 naming it)."""
    settings, count, options = loaded.settings, loaded.server.workers, loaded.server
    check_options(options.auth, bool(options.users), options.max_message_size)
    worker_id(settings.node_id, count - 1)
    listed = [p.node_id for p in parse_peers(settings.peers)]
    if listed and settings.node_id not in listed:  # its workers are listed by its id
        raise ValueError(f"node id {settings.node_id!r} is not among --peers")
    duckdb_share(loaded.server.memory_limit, count)


def for_worker(loaded: Loaded, spec: WorkerSpec) -> Loaded:
    """The settings of worker `spec.index` of `spec.count`: a cluster member named after the
    host, with 1/N of the memory cache and of DuckDB's memory limit."""
    settings = dataclasses.replace(
        loaded.settings,
        node_id=worker_id(loaded.settings.node_id, spec.index),
        cluster=True,
        memory_cache_bytes=max(1, loaded.settings.memory_cache_bytes // spec.count),
    )
    limit = duckdb_share(loaded.server.memory_limit, spec.count)
    server = dataclasses.replace(loaded.server, memory_limit=limit)
    return dataclasses.replace(loaded, settings=settings, server=server)


def duckdb_share(limit: str, count: int) -> str:
    """One worker's DuckDB memory_limit: 1/N of --memory-limit, or of DuckDB's default
    (80% of the host's memory); empty (DuckDB's default) when neither is known."""
    if limit:
        try:
            total = parse_size(limit.replace(" ", ""))
        except ValueError:
            raise ValueError(f"--memory-limit {limit!r} is not a size like 4GB") from None
    else:
        host = memory_bytes()
        if host is None:
            return ""
        total = int(host * DUCKDB_DEFAULT_SHARE)
    return f"{max(1, total // count // 1024)}KiB"
