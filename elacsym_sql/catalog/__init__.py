"""Manifest versions of a namespace and the compare-and-swap commit loop."""

from .manifest import Manifest, SegmentEntry
from .store import ManifestStore, namespace_marker_key

__all__ = ["Manifest", "ManifestStore", "SegmentEntry", "namespace_marker_key"]
