"""Manifest versions of a namespace and the compare-and-swap commit loop; the enum types,
Postgres schemas and views stored beside the namespaces."""

from ..layout import namespace_marker_key
from .manifest import Manifest, SegmentEntry
from .schemas import SchemaStore
from .store import ManifestStore
from .types import EnumType, TypeStore
from .views import ViewStore

__all__ = [
    "EnumType",
    "Manifest",
    "ManifestStore",
    "SchemaStore",
    "SegmentEntry",
    "TypeStore",
    "ViewStore",
    "namespace_marker_key",
]
