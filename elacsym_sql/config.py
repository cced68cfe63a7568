"""Every knob of elacsym_sql, its default and its meaning.

Values come from, in rising priority: the defaults below, environment variables
`ELACSYM_<NAME>` (upper case, or the original elacsym's spellings), and keyword arguments to
`connect()` / `Settings(...)`. The `elacsym` command also reads a TOML file and its flags
(config_sources.py). Sizes take units: 4GB, 512MiB.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from .config_sources import resolve
from .config_values import check_choice
from .errors import InvalidParameterValue


def _default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "elacsym")


@dataclass
class Settings:
    data: str = field(
        default="./elacsym-data", metadata={"help": "local path or s3://bucket/prefix"}
    )
    s3_endpoint: str | None = field(default=None, metadata={"help": "S3 endpoint URL"})
    s3_region: str = field(default="us-east-1", metadata={"help": "S3 region"})
    s3_access_key_id: str | None = field(default=None, metadata={"help": "S3 access key"})
    s3_secret_access_key: str | None = field(
        default=None, metadata={"help": "S3 secret key", "secret": True}
    )
    cache_dir: str = field(
        default_factory=_default_cache_dir, metadata={"help": "local disk cache directory"}
    )
    cache_bytes: int = field(
        default=4 << 30, metadata={"help": "disk cache size bound", "size": True}
    )
    memory_cache_bytes: int = field(
        default=2 << 30,
        metadata={"help": "decoded segments and indexes kept in memory", "size": True},
    )
    fold_min_rows: int = field(
        default=20_000, metadata={"help": "fold the WAL tail into a segment at this many rows"}
    )
    fold_interval_seconds: float = field(
        default=2.0, metadata={"help": "fold a non-empty WAL tail at least this often"}
    )
    compact_min_segments: int = field(
        default=4, metadata={"help": "merge small segments when there are this many"}
    )
    small_segment_rows: int = field(
        default=250_000, metadata={"help": "segments below this many live rows are 'small'"}
    )
    gc_grace_seconds: float = field(
        default=600.0, metadata={"help": "unreferenced objects live this long before GC"}
    )
    manifest_refresh_seconds: float = field(
        default=30.0, metadata={"help": "re-read the manifest pointer at least this often"}
    )
    idle_watch_seconds: float = field(
        default=60.0,
        metadata={
            "help": "after a namespace's last read or write here, look for other processes'"
            " writes to it at 1, 2, 4, ... seconds up to this long, then make no requests"
            " for it until its next traffic (decision 0060)"
        },
    )
    consistency: str = field(
        default="strong",
        metadata={
            "help": "reads' default: strong (see every write acknowledged before they"
            " started) or eventual (this process's cached view; no freshness probe)",
            "choices": ("strong", "eventual"),
        },
    )
    write_retries: int = field(
        default=32, metadata={"help": "lost WAL races retried before SQLSTATE 40001"}
    )
    storage_deadline_seconds: float = field(
        default=30.0,
        metadata={
            "help": "retry a failing object-store request this long before SQLSTATE 58030"
            " (per request; 0: one attempt)"
        },
    )
    storage_timeout_seconds: float = field(
        default=20.0,
        metadata={"help": "abandon (and retry) an object-store request silent this long"},
    )
    txn_timeout_seconds: float = field(
        default=10.0,
        metadata={"help": "a multi-namespace commit undecided this long is aborted by its readers"},
    )
    max_transaction_bytes: int = field(
        default=512 << 20,
        metadata={"help": "rows a transaction block may stage before SQLSTATE 54000", "size": True},
    )
    indexer: bool = field(
        default=True, metadata={"help": "run the background fold/compact/GC thread"}
    )
    node_id: str = field(
        default_factory=socket.gethostname,
        metadata={"help": "this node's name: its cluster member id, and /health's node_id"},
    )
    cluster: bool = field(
        default=False,
        metadata={
            "help": "join the cluster on this root: heartbeat in the bucket, own namespaces "
            "by rendezvous hashing (implied by --peers)"
        },
    )
    peers: str = field(
        default="",
        metadata={
            "help": "the cluster's members, id=host:pgport[:httpport] or id, comma-separated; "
            "empty: whoever heartbeats on this root",
            "metavar": "PEERS",
        },
    )
    node_role: str = field(
        default="indexer",
        metadata={
            "help": "indexer (owns namespaces) or query (serves, never owns)",
            "choices": ("indexer", "query"),
        },
    )
    cluster_secret: str | None = field(
        default=None,
        metadata={
            "help": "shared by the members of a cluster whose servers check passwords: a "
            "member forwarding a client's write logs in to the owner as that client's user "
            "with a password made from it",
            "secret": True,
        },
    )
    heartbeat_seconds: float = field(
        default=2.0, metadata={"help": "renew this node's heartbeat object this often"}
    )
    heartbeat_ttl_seconds: float = field(
        default=10.0,
        metadata={"help": "a member whose heartbeat is older than this is down"},
    )
    owner_sweep_seconds: float = field(
        default=60.0,
        metadata={
            "help": "a cluster owner lists the dirty markers this often and folds what other"
            " processes wrote to its namespaces (decision 0086)"
        },
    )
    dirty_mark_seconds: float = field(
        default=60.0,
        metadata={
            "help": "a process appending to a namespace it does not own renews the"
            " namespace's dirty marker at most this often (decision 0086; the same on every"
            " process sharing the root)"
        },
    )

    def __post_init__(self) -> None:
        if self.idle_watch_seconds < 0:
            raise InvalidParameterValue("idle_watch_seconds must be zero or more")
        if self.gc_grace_seconds < 4 * self.manifest_refresh_seconds:
            # A reader's manifest may be manifest_refresh_seconds old; objects it
            # references must outlive that by a wide margin.
            raise InvalidParameterValue(
                "gc_grace_seconds must be at least 4 x manifest_refresh_seconds"
            )
        for f in dataclasses.fields(self):
            check_choice(f, getattr(self, f.name), f.name)
        if self.owner_sweep_seconds <= 0 or self.dirty_mark_seconds <= 0:
            raise InvalidParameterValue(
                "owner_sweep_seconds and dirty_mark_seconds must be positive"
            )
        if not 0 < 3 * self.heartbeat_seconds <= self.heartbeat_ttl_seconds:
            # A few missed renewals (a slow PUT, a GC pause) must not make a member look down.
            raise InvalidParameterValue(
                "heartbeat_ttl_seconds must be at least 3 x heartbeat_seconds (and positive)"
            )

    @property
    def clustered(self) -> bool:
        """Whether this node is a cluster member (--cluster, or a --peers list)."""
        return self.cluster or bool(self.peers.strip())

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from the environment, `overrides` (keyword arguments) winning."""
        found = resolve(dataclasses.fields(cls), os.environ, overrides)
        return cls(**found.values)
