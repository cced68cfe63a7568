"""elacsym_sql: hybrid search as ordinary SQL over object storage.

import elacsym_sql
con = elacsym_sql.connect("s3://bucket/prefix")  # or a local directory
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import Settings
from .errors import (
    DatabaseError,
    DataError,
    ElacsymError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)

if TYPE_CHECKING:
    from .sql import Connection, Cursor, Database

__version__ = "0.1.0"

# PEP 249 module globals.
apilevel = "2.0"
threadsafety = 1  # threads may share the module; give each thread its own connection
paramstyle = "qmark"  # also numeric: $1, $2
Error = ElacsymError


def connect(data: str | None = None, **settings: Any) -> Connection:
    """Open the namespaces under `data` (a local directory or s3://bucket/prefix).

    Keyword arguments are `Settings` fields (s3_endpoint, cache_dir, ...); environment
    variables ELACSYM_<FIELD> fill in the rest. Default data: ./elacsym-data. With
    `cluster=True` (or `peers=`), writes to namespaces a cluster member owns are sent to it.
    """
    from .sql import Connection, Database

    database = Database(Settings.from_env(data=data, **settings))
    if database.settings.clustered:
        database.observe_cluster()
    return Connection(database)


def __getattr__(name: str) -> Any:
    """The SQL layer (and DuckDB) loads when first used: the engine API runs without it."""
    if name in ("Connection", "Cursor", "Database"):
        from . import sql

        return getattr(sql, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Connection",
    "Cursor",
    "DataError",
    "Database",
    "DatabaseError",
    "ElacsymError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Settings",
    "Warning",
    "__version__",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]
