"""The server's options: address, authentication, limits and log settings, their defaults
and meaning. `elacsym serve` makes a flag of each (`--max-connections`), the environment
and the config file set them by name (ELACSYM_MAX_CONNECTIONS, `max_connections = 10`).

Durations are written as in Postgres (`30s`, `1min`, `500` = 500 ms); the four Postgres
timeouts are the sessions' defaults, which a client may change with SET or its startup
options, as in Postgres. See docs/security.md for what each one bounds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..host import cores
from ..sql.session.setting_values import milliseconds, parse_duration, parse_size
from .frontend import DEFAULT_MAX_MESSAGE
from .worker_slot import MAX_WORKERS

DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServerOptions:
    listen: str = field(
        default=f"{DEFAULT_HOST}:5433",
        metadata={
            "help": f"host:port to listen on, or a port alone (on {DEFAULT_HOST})",
            "metavar": "HOST:PORT",
        },
    )
    http: str = field(
        default="3000",
        metadata={
            "help": "the HTTP/JSON API's host:port, a port alone (on --http-host), or off; "
            "a busy default port leaves it off with a warning",
            "metavar": "HOST:PORT",
        },
    )
    workers: int = field(
        default_factory=cores,
        metadata={
            "help": "server processes sharing the listen ports, each a cluster member with "
            "its share of the memory settings (decision 0078); 1: one process, no cluster "
            "unless asked; default: the cores this process may use"
        },
    )
    http_host: str = field(
        default=DEFAULT_HOST, metadata={"help": "the HTTP API's host when --http is a port"}
    )
    http_max_body_bytes: int = field(
        default=64 << 20,
        metadata={"help": "largest HTTP request body; a larger one gets 413", "size": True},
    )
    auth: str = field(
        default="trust",
        metadata={"help": "trust, password (cleartext) or scram (SCRAM-SHA-256)"},
    )
    users: str | None = field(
        default=None,
        metadata={
            "help": 'TOML file: [users] name = "password" (or a SCRAM verifier); an '
            '[allow_read] table: name = ["dir", ...]'
        },
    )
    tls_cert: str | None = field(default=None, metadata={"help": "PEM certificate"})
    tls_key: str | None = field(default=None, metadata={"help": "PEM private key"})
    allow_read: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "a directory clients may read files from (read_parquet, read_csv, COPY "
            "FROM); repeatable; in the environment directories separated by ':'; else "
            "clients reach no file of the host"
        },
    )
    max_message_size: int = field(
        default=DEFAULT_MAX_MESSAGE,
        metadata={
            "help": "largest protocol message a client may send after authentication; a "
            "larger one is refused (54000) and the connection closed",
            "size": True,
        },
    )
    max_connections: int = field(
        default=100,
        metadata={"help": "sessions at once; one more is refused (FATAL 53300)"},
    )
    statement_threads: int = field(
        default=32,
        metadata={
            "help": "threads running client sessions' statements at once (more wait their "
            "turn); sessions of cluster members forwarding writes have as many of their own"
        },
    )
    statement_timeout: str = field(
        default="0",
        metadata={"help": "default statement_timeout of sessions (57014 past it); 0: none"},
    )
    idle_in_transaction_session_timeout: str = field(
        default="0",
        metadata={"help": "close a session idle this long inside a transaction block (25P03)"},
    )
    idle_session_timeout: str = field(
        default="0",
        metadata={"help": "close a session idle this long outside a transaction block (57P05)"},
    )
    authentication_timeout: str = field(
        default="1min",
        metadata={"help": "a client not authenticated this long after connecting is dropped"},
    )
    auth_failure_limit: int = field(
        default=10,
        metadata={
            "help": "failed logins per client address within --auth-failure-window before "
            "that address is refused (28000) until the window passes; 0: no limit"
        },
    )
    auth_failure_window: str = field(
        default="1min", metadata={"help": "the window failed logins are counted in"}
    )
    max_statement_length: int = field(
        default=32 << 20,
        metadata={
            "help": "statements of more characters are refused (54000) before parsing: data "
            "belongs in parameters or COPY; 0: no limit"
        },
    )
    max_statement_tokens: int = field(
        default=100_000,
        metadata={
            "help": "statements of more SQL tokens (words, numbers, symbols) are refused "
            "(54000) before parsing: parsing costs ~40 us and ~4 kB per token; 0: no limit"
        },
    )
    max_copy_bytes: int = field(
        default=512 << 20,
        metadata={
            "help": "data one COPY FROM STDIN may send (it is held until CopyDone)",
            "size": True,
        },
    )
    memory_limit: str = field(
        default="",
        metadata={
            "help": "DuckDB's memory_limit for all statements together (e.g. 4GB; a statement "
            "past it fails with 53200); empty: DuckDB's default (80% of RAM)"
        },
    )
    statement_memory_limit: str = field(
        default="0",
        metadata={
            "help": "default statement_memory_limit of sessions: the rows one statement may "
            "make the server hold (a write's rows, WITH HOLD cursors, COPY data; not DuckDB's "
            "own memory), e.g. 1GB; past it 53200; 0: none",
            "metavar": "SIZE",
        },
    )
    log_min_duration_statement: str = field(
        default="-1",
        metadata={
            "help": "log statements that run at least this long; 0: all; -1: none",
            "metavar": "DURATION",
        },
    )
    log_format: str = field(default="text", metadata={"help": "server log lines: text or json"})
    log_level: str = field(
        default="info",
        metadata={"help": "debug, info or warning; client SQL is logged only at debug"},
    )

    def __post_init__(self) -> None:
        self.address()  # raises on a bad --listen
        self.http_address()  # and on a bad --http
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("--tls-cert and --tls-key go together")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ValueError(f"--workers is between 1 and {MAX_WORKERS}, not {self.workers}")
        if self.statement_threads < 1:
            raise ValueError("--statement-threads is at least 1")
        if self.max_connections < 1:
            raise ValueError("--max-connections is at least 1")
        if self.log_format not in ("text", "json"):
            raise ValueError(f"--log-format is text or json, not {self.log_format!r}")
        if self.log_level not in ("debug", "info", "warning"):
            raise ValueError(f"--log-level is debug, info or warning, not {self.log_level!r}")
        for name in (
            "statement_timeout",
            "idle_in_transaction_session_timeout",
            "idle_session_timeout",
            "authentication_timeout",
            "log_min_duration_statement",
        ):
            parse_duration(name, getattr(self, name))  # raises on a bad value
        parse_duration("statement_timeout", self.auth_failure_window)
        parse_size("statement_memory_limit", self.statement_memory_limit)

    def address(self) -> tuple[str, int]:
        """(host, port) of --listen."""
        return host_port(self.listen, DEFAULT_HOST, "--listen wants host:port or a port")

    def http_address(self) -> tuple[str, int] | None:
        """(host, port) of --http, or None when it is off."""
        if self.http.lower() == "off":
            return None
        return host_port(self.http, self.http_host, "--http wants host:port, a port or off")

    def session_settings(self) -> dict[str, str]:
        """Postgres settings every session starts with (and RESET returns to)."""
        names = (
            "statement_timeout",
            "idle_in_transaction_session_timeout",
            "idle_session_timeout",
            "authentication_timeout",
            "log_min_duration_statement",
            "statement_memory_limit",
        )
        values = {name: getattr(self, name) for name in names}
        values["max_connections"] = str(self.max_connections)
        return values

    def seconds(self, name: str) -> float:
        """A duration option in seconds."""
        unit_name = "statement_timeout" if name == "auth_failure_window" else name
        return milliseconds(parse_duration(unit_name, getattr(self, name))) / 1000


def host_port(text: str, default_host: str, wants: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port`, `:port` or a port alone (on `default_host`)."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{wants}, not {text!r}")
    return host.strip("[]") or default_host, int(port)


def option_fields() -> list[dataclasses.Field[Any]]:
    return list(dataclasses.fields(ServerOptions))
