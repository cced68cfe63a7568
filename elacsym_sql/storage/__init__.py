"""Object storage: local directory or S3, with conditional writes; a local disk cache."""

from __future__ import annotations

from ..config import Settings
from ..errors import ObjectNotFound, PreconditionFailed
from .base import ObjectInfo, ObjectStore
from .cache import DiskCache
from .local import LocalStore
from .metered import MeteredStore

__all__ = [
    "DiskCache",
    "LocalStore",
    "MeteredStore",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "PreconditionFailed",
    "S3Store",
    "open_store",
]


def open_store(settings: Settings) -> MeteredStore:
    """The store for `settings.data`: S3 for `s3://` URIs, else a local directory; its
    calls counted in the process's metrics."""
    if settings.data.startswith("s3://"):
        from .s3 import S3Store  # boto3 is slow to import; local users never pay for it

        return MeteredStore(S3Store(settings.data, settings))
    # LocalStore creates the directory (and its .tmp) itself.
    return MeteredStore(LocalStore(settings.data))


def __getattr__(name: str) -> object:
    # `from elacsym_sql.storage import S3Store` without importing boto3 eagerly.
    if name == "S3Store":
        from .s3 import S3Store

        return S3Store
    raise AttributeError(name)
