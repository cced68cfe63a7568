"""Recall curves re-measured on the queries users send (decision 0094).

A segment's index is calibrated when it is written: on recent real queries when the process
has seen enough, else on probe queries, a guess about users. A large segment may never be
rewritten, so without this its searches would follow the guess for good; a guess that is
too pessimistic makes every search probe far more than it needs (a 1M-row namespace of
noisy copies probed 192-256 of 700 clusters for a target its users' queries reached at 48).
Here each indexed segment's curve is measured again on the namespace's recent real queries,
and the manifest is committed with the new curves when one moved by more than TOLERANCE at
some breadth (less is sampling noise, not worth a new version).
"""

from __future__ import annotations

import dataclasses

from ..catalog import ManifestStore
from .fold import Queries, commit_manifest
from .namespace import Namespace
from .segments import MIN_REAL_QUERIES, SegmentFiles, index_curve

TOLERANCE = 0.01  # recall@10


def recalibrate(
    ns: Namespace, files: SegmentFiles, manifests: ManifestStore, queries: Queries
) -> bool:
    """Re-measure the curves of `ns`'s indexed segments on `queries` (columns with fewer
    than MIN_REAL_QUERIES keep theirs); True when a new version was committed."""
    manifest = ns.snapshot(traffic=False).manifest
    schema = manifest.schema
    real = {c.name: queries(c.name) for c in schema.vector_columns} if queries else {}
    segments, changed = [], False
    for seg in manifest.segments:
        curves = dict(seg.ef_recall)
        for column in schema.vector_columns:
            if len(real.get(column.name, ())) < MIN_REAL_QUERIES:
                continue
            found = files.indexed_vectors(ns.name, seg, schema, column)
            if found is None:
                continue
            index, vectors = found
            hnsw = f"hnsw:{column.name}"
            name = hnsw if hnsw in seg.indexes else f"ivf:{column.name}"
            curve = [list(point) for point in index_curve(index, vectors, real[column.name])]
            changed |= _moved(curves.get(name, []), curve)
            curves[name] = curve
        segments.append(dataclasses.replace(seg, ef_recall=curves))
    if not changed:
        return False
    return commit_manifest(ns, manifests, manifest.next(segments=tuple(segments)))


def _moved(old: list[list[float]], new: list[list[float]]) -> bool:
    """Whether `new` differs from `old` in its breadths or by more than TOLERANCE."""
    if [b for b, _ in old] != [b for b, _ in new]:
        return True
    return any(abs(a - b) > TOLERANCE for (_, a), (_, b) in zip(old, new, strict=True))
