"""Garbage collection: delete what no live manifest references, after a grace period.

A manifest is live while it is the newest, or was replaced less than `grace` seconds ago
(a reader may still hold it). Objects younger than `grace` are never touched, so a
commit in progress elsewhere keeps its fresh, not yet referenced, files.
"""

from __future__ import annotations

import time

from ..catalog import ManifestStore
from ..layout import fts_root, manifest_version, namespace_prefix, segments_prefix
from ..storage import ObjectStore
from ..wal import WalLog


def collect_garbage(
    store: ObjectStore, namespace: str, grace: float, now: float | None = None
) -> int:
    """Delete unreferenced objects of `namespace`; returns how many were deleted."""
    now = time.time() if now is None else now
    manifests = ManifestStore(store)
    versions = dict(manifests.list_versions(namespace))
    if not versions:
        return 0
    newest = max(versions)
    live = [v for v in versions if v == newest or versions.get(v + 1, now) > now - grace]
    referenced: set[str] = set()
    min_hwm = None
    for v in live:
        m = manifests.load_version(namespace, v)
        referenced |= m.referenced_keys()
        min_hwm = m.wal_hwm if min_hwm is None else min(min_hwm, m.wal_hwm)
    wal = WalLog(store, namespace)
    deleted = 0
    files = (segments_prefix(namespace), fts_root(namespace) + "/")
    for obj in list(store.list(namespace_prefix(namespace))):
        if obj.mtime > now - grace or obj.key in referenced:
            continue
        seq = wal.seq_of(obj.key)
        if seq is not None:
            doomed = min_hwm is not None and seq <= min_hwm
        elif (version := manifest_version(namespace, obj.key)) is not None:
            doomed = version not in live
        else:
            doomed = obj.key.startswith(files)
        if doomed:
            store.delete(obj.key)
            deleted += 1
    return deleted
