"""Reading and committing manifest versions.

A version file is created with a conditional create: that create is the commit point, so
two committers of the same version cannot both win. The `latest` pointer is then moved
forward by compare-and-swap; it is a hint that readers trust and then probe past, so a
committer that dies between the two steps loses nothing.
"""

from __future__ import annotations

import json
import time

from ..layout import (
    manifest_key,
    manifest_prefix,
    manifest_version,
    pointer_key,
)
from ..storage import ObjectNotFound, ObjectStore, PreconditionFailed
from .manifest import Manifest

# Keys come from layout.py; these names stay importable from here.
version_key = manifest_key


class ManifestStore:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def load_latest(self, namespace: str, known: Manifest | None = None) -> Manifest | None:
        """The newest committed version, or None when the namespace never existed. `known`:
        a version the caller holds, not read again when the pointer names it (version
        files never change, and version numbers are not reused across incarnations)."""
        try:
            raw, _ = self.store.get_with_etag(pointer_key(namespace))
            version = int(json.loads(raw)["version"])
        except ObjectNotFound:
            version = 0
        newest: Manifest | None = None
        if known is not None and version == known.version:
            newest = known
        elif version:
            try:
                newest = self.load_version(namespace, version)
            except ObjectNotFound:
                # A lagging pointer whose target was garbage-collected: start from the
                # newest version file instead.
                version = max((v for v, _ in self.list_versions(namespace)), default=0)
                newest = self.load_version(namespace, version) if version else None
        while True:  # the pointer may lag behind a committer that crashed before moving it
            key = version_key(namespace, version + 1)
            try:
                data = self.store.get(key)
            except ObjectNotFound:
                break
            newest = Manifest.from_bytes(data, key)
            version += 1
        return newest

    def load_version(self, namespace: str, version: int) -> Manifest:
        key = version_key(namespace, version)
        return Manifest.from_bytes(self.store.get(key), key)

    def commit(self, manifest: Manifest) -> Manifest | None:
        """Publish `manifest` (stamped with its commit time); None when another committer
        took that version first."""
        manifest = Manifest(**{**manifest.__dict__, "created_at": time.time()})
        try:
            self.store.put_if_absent(
                version_key(manifest.namespace, manifest.version), manifest.to_bytes()
            )
        except PreconditionFailed:
            return None
        self._advance_pointer(manifest.namespace, manifest.version)
        return manifest

    def _advance_pointer(self, namespace: str, version: int) -> None:
        key = pointer_key(namespace)
        body = json.dumps({"version": version}).encode()
        for _ in range(8):
            try:
                raw, etag = self.store.get_with_etag(key)
                if int(json.loads(raw)["version"]) >= version:
                    return
            except ObjectNotFound:
                etag = None
            try:
                self.store.put_if_match(key, body, etag)
                return
            except PreconditionFailed:
                continue  # someone moved it; look again
        # Giving up is safe: readers probe past a lagging pointer.

    def list_versions(self, namespace: str) -> list[tuple[int, float]]:
        """(version, mtime) of every version file still stored."""
        out = []
        for info in self.store.list(manifest_prefix(namespace)):
            version = manifest_version(namespace, info.key)
            if version is not None:
                out.append((version, info.mtime))
        return out
