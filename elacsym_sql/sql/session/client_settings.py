"""SET / SHOW / RESET of Postgres client settings, remembered per session.

Clients set these on connect (client_encoding, DateStyle, extra_float_digits,
application_name, search_path, ...). They are accepted and remembered; the few that change
what the server sends are reported back (ParameterStatus). Names DuckDB knows as its own
settings (threads, memory_limit, ...) go to DuckDB instead.
"""

from __future__ import annotations

import importlib.metadata

import sqlglot
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from ...errors import CantChangeRuntimeParam, InvalidParameterValue, NotSupportedError
from ..parse import DIALECT, Statement
from .setting_values import CHOICES, DURATIONS, SIZES, parse_choice, parse_duration, parse_size


def _version() -> str:
    try:
        return importlib.metadata.version("elacsym-sql")
    except importlib.metadata.PackageNotFoundError:
        return "0"


VERSION = _version()
SERVER_VERSION = f"15.0 (elacsym_sql {VERSION})"
VERSION_STRING = f"PostgreSQL {SERVER_VERSION} on x86_64-pc-linux-gnu, DuckDB engine"

DEFAULTS: dict[str, str] = {
    "server_version": SERVER_VERSION,
    "server_version_num": "150000",
    "server_encoding": "UTF8",
    "client_encoding": "UTF8",
    "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres",
    "TimeZone": "UTC",
    "integer_datetimes": "on",
    "standard_conforming_strings": "on",
    "is_superuser": "on",
    "session_authorization": "elacsym",
    "application_name": "",
    "extra_float_digits": "1",
    "search_path": '"$user", public',
    "default_transaction_isolation": "read committed",
    "transaction_isolation": "read committed",
    "transaction_read_only": "off",
    "default_transaction_read_only": "off",
    "max_identifier_length": "63",
    "lc_collate": "C",
    "lc_ctype": "C",
    "lc_messages": "C",
    "lc_monetary": "C",
    "lc_numeric": "C",
    "lc_time": "C",
    "bytea_output": "hex",
    "client_min_messages": "notice",
    "statement_timeout": "0",
    "lock_timeout": "0",
    "idle_in_transaction_session_timeout": "0",
    "idle_session_timeout": "0",
    "log_min_duration_statement": "-1",
    "statement_memory_limit": "0",  # ours (statement_memory.py); 0: none
    "elacsym.consistency": "strong",  # ours: 'eventual' reads skip the freshness probe
    "authentication_timeout": "1min",
    "geqo": "on",
    "jit": "off",
    "max_connections": "100",
    "block_size": "8192",
    # Compile-time limits clients read from pg_settings (pgJDBC's getImportedKeys).
    "max_index_keys": "32",
    "max_function_args": "100",
}
# Reported to the client at start-up and whenever they change (GUC_REPORT in Postgres).
REPORTED = (
    "server_version",
    "server_encoding",
    "client_encoding",
    "application_name",
    "DateStyle",
    "IntervalStyle",
    "TimeZone",
    "integer_datetimes",
    "standard_conforming_strings",
    "is_superuser",
    "session_authorization",
)
_CANONICAL = {k.lower(): k for k in DEFAULTS}
_READ_ONLY = {
    "server_version",
    "server_version_num",
    "server_encoding",
    "integer_datetimes",
    "max_identifier_length",
    "block_size",
    "max_index_keys",
    "max_function_args",
    "lc_collate",
    "lc_ctype",
    "is_superuser",
}
# Fixed by the server for its whole life (Postgres: restart or reload to change them).
_SERVER_ONLY = {
    "max_connections": "cannot be changed without restarting the server",
    "authentication_timeout": "cannot be changed now",
}


class ClientSettings:
    def __init__(self, duck_settings: set[str]) -> None:
        self.defaults: dict[str, str] = dict(DEFAULTS)  # what RESET goes back to
        self.values: dict[str, str] = dict(DEFAULTS)
        self._duck = duck_settings  # lower-cased names of DuckDB's own settings
        self.changed: list[str] = []  # reported names changed since the caller last looked

    def get(self, name: str) -> str | None:
        return self.values.get(_CANONICAL.get(name.lower(), name.lower()))

    def set(self, name: str, value: str | None) -> None:
        key = _CANONICAL.get(name.lower(), name.lower())
        if key in _READ_ONLY:
            raise InvalidParameterValue(f'parameter "{name}" cannot be changed')
        if key in _SERVER_ONLY:
            raise CantChangeRuntimeParam(f'parameter "{key}" {_SERVER_ONLY[key]}')
        if key == "client_encoding" and value is not None:
            if value.strip("'\"").upper().replace("-", "") not in ("UTF8", "UNICODE"):
                raise NotSupportedError(f"client_encoding {value} is not supported; use UTF8")
            value = "UTF8"
        new = self.defaults.get(key, "") if value is None else value
        if key in DURATIONS:
            new = parse_duration(key, new)
        if key in SIZES:
            new = parse_size(key, new)
        if key in CHOICES:
            new = parse_choice(key, new)
        if self.values.get(key) != new and key in REPORTED:
            self.changed.append(key)
        self.values[key] = new

    def configure(self, defaults: dict[str, str]) -> None:
        """The server's own defaults (its timeouts, max_connections): what a session starts
        with and RESET returns to. Values are taken as given, read-only ones too."""
        for name, value in defaults.items():
            key = _CANONICAL.get(name.lower(), name.lower())
            if key in DURATIONS:
                value = parse_duration(key, value)
            if key in SIZES:
                value = parse_size(key, value)
            if key in CHOICES:
                value = parse_choice(key, value)
            self.defaults[key] = self.values[key] = value

    def intercept(self, stmt: Statement) -> tuple[str, str | None] | None:
        """('SET', None) or ('SHOW', name) when this statement is ours; None for DuckDB."""
        words = _words(stmt.text)
        if not words:
            return None
        verb = words[0].upper()
        if verb == "SET" and len(words) > 1:
            return self._set(words[1:])
        if verb == "RESET" and len(words) > 1:
            # RESET's rest: a string token; a dotted name (elacsym.consistency) is several
            target = "".join(words[1:]).lstrip("\x00").strip().strip('"')
            if target.upper() == "ALL":
                for key in list(self.values):
                    if key not in _READ_ONLY and key not in _SERVER_ONLY:
                        self.set(key, None)
                return ("RESET", None)
            if self._ours(target):
                self.set(target, None)
                return ("RESET", None)
        if verb == "SHOW" and [w.upper() for w in words[1:]] == [
            "TRANSACTION",
            "ISOLATION",
            "LEVEL",
        ]:
            return ("SHOW", "transaction_isolation")
        if verb == "SHOW" and len(words) >= 2:
            name = "".join(words[1:])  # a dotted name is several tokens
            if name.upper() == "ALL" or name.lower() in _CANONICAL or name.lower() in self.values:
                return ("SHOW", name)
        if verb == "DISCARD":
            return ("DISCARD", None)
        if verb == "DEALLOCATE" and len(words) > 1:  # prepared statements of the protocol
            return ("DEALLOCATE", words[-1].lstrip("\x00"))
        return None

    def is_client_setting(self, name: str) -> bool:
        """A Postgres setting this layer keeps (a startup packet may set it)."""
        return name.lower() in _CANONICAL

    def _ours(self, name: str) -> bool:
        lowered = name.lower()
        return lowered in _CANONICAL or lowered in self.values or lowered not in self._duck

    def _set(self, words: list[str]) -> tuple[str, str | None] | None:
        if words[0].upper() in ("SESSION", "LOCAL") and len(words) > 1:
            if words[1].upper() == "CHARACTERISTICS":
                return ("SET", None)
            words = words[1:]
        head = words[0].upper()
        if head == "TRANSACTION":
            return ("SET", None)  # isolation level, read only: every statement is atomic
        if head == "TIME" and len(words) > 2 and words[1].upper() == "ZONE":
            self.set("TimeZone", _value(words[2:]))
            return ("SET", None)
        if head in ("VARIABLE", "GLOBAL"):
            return None  # DuckDB's own
        at = next((i for i, w in enumerate(words) if w == "=" or w.upper() == "TO"), None)
        if at is None or at == 0 or at == len(words) - 1:
            return None  # not a client setting's form: DuckDB judges it
        name = "".join(words[:at])  # dotted names (elacsym.consistency) are several tokens
        if not self._ours(name):
            return None
        value = _value(words[at + 1 :])
        self.set(name, None if value.upper() == "DEFAULT" else value)
        return ("SET", None)


def _words(text: str) -> list[str]:
    try:
        tokens = sqlglot.tokenize(text, read=DIALECT)
    except TokenError:
        return []
    return [tok.text if tok.token_type != TokenType.STRING else "\x00" + tok.text for tok in tokens]


def _value(words: list[str]) -> str:
    parts = [w[1:] if w.startswith("\x00") else w for w in words if w != ","]
    if len(parts) > 1 and parts[0] in ("-", "+"):  # a signed number is two tokens
        parts[:2] = [parts[0] + parts[1]]
    return ", ".join(parts)
