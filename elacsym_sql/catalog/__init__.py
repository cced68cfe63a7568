"""Manifest versions of a namespace and the compare-and-swap commit loop."""

from ..layout import namespace_marker_key
from .manifest import Manifest, SegmentEntry
from .store import ManifestStore

__all__ = ["Manifest", "ManifestStore", "SegmentEntry", "namespace_marker_key"]
