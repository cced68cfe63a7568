"""Manifest versions of a namespace and the compare-and-swap commit loop; the enum types and
Postgres schemas stored beside the namespaces."""

from ..layout import namespace_marker_key
from .manifest import Manifest, SegmentEntry
from .schemas import SchemaStore
from .store import ManifestStore
from .types import EnumType, TypeStore

__all__ = [
    "EnumType",
    "Manifest",
    "ManifestStore",
    "SchemaStore",
    "SegmentEntry",
    "TypeStore",
    "namespace_marker_key",
]
