"""Every object key elacsym_sql writes under a storage root (DESIGN.md §3), in one place.

    <ns>/manifest/<version:020d>.json   <ns>/manifest/latest
    <ns>/wal/<seq:020d>.arrow
    <ns>/segments/<id>/data.parquet     <ns>/segments/<id>/deletes.<version>.<nonce>.bin
    <ns>/segments/<id>/<column>.hnsw    <ns>/segments/<id>/<column>.ivf
    <ns>/fts/...
    .namespaces/<ns>  .types/<name>.json  .sequences/<name>  .references/<ns>/...  .txn/<id>.json
    .schemas/<name>  .views/<name>  .cluster/nodes/<node id>/<instance>.json
    .cluster/dirty/<ns>

Keys of the whole root start with '.', which cannot start a namespace name (schema.py):
the two kinds never collide.
"""

from __future__ import annotations

NAMESPACE_MARKERS = ".namespaces/"
TYPES = ".types/"
SEQUENCES = ".sequences/"
REFERENCES = ".references/"
DECISIONS = ".txn/"
SCHEMAS = ".schemas/"  # Postgres schemas other than public (decision 0033)
VIEWS = ".views/"  # CREATE VIEW's definitions (decision 0091)
CLUSTER_NODES = ".cluster/nodes/"  # one heartbeat object per running member (decision 0056)
# Namespaces written by a process that is not their owner, for the owner's sweep (0086).
CLUSTER_DIRTY = ".cluster/dirty/"


def namespace_prefix(namespace: str) -> str:
    return f"{namespace}/"


def namespace_marker_key(namespace: str) -> str:
    return NAMESPACE_MARKERS + namespace


def namespace_of(key: str) -> str | None:
    """The namespace whose prefix holds `key` (or a listing's prefix); None for keys of the
    whole root, which start with '.'."""
    head, sep, _ = key.partition("/")
    return head if sep and head and not head.startswith(".") else None


# -- manifests -------------------------------------------------------------------------------


def manifest_prefix(namespace: str) -> str:
    return f"{namespace}/manifest/"


def manifest_key(namespace: str, version: int) -> str:
    return f"{manifest_prefix(namespace)}{version:020d}.json"


def manifest_version(namespace: str, key: str) -> int | None:
    """The version a manifest key names, or None for other keys (the pointer, others)."""
    prefix = manifest_prefix(namespace)
    if key.startswith(prefix) and key.endswith(".json"):
        return int(key[len(prefix) : -len(".json")])
    return None


def pointer_key(namespace: str) -> str:
    return f"{manifest_prefix(namespace)}latest"


# -- WAL -------------------------------------------------------------------------------------


def wal_prefix(namespace: str) -> str:
    return f"{namespace}/wal/"


def wal_key(namespace: str, seq: int) -> str:
    return f"{wal_prefix(namespace)}{seq:020d}.arrow"


def wal_seq(namespace: str, key: str) -> int | None:
    """The sequence number a WAL key names, or None for other keys."""
    prefix = wal_prefix(namespace)
    if key.startswith(prefix) and key.endswith(".arrow"):
        return int(key[len(prefix) : -len(".arrow")])
    return None


# -- segments and indexes --------------------------------------------------------------------


def segments_prefix(namespace: str) -> str:
    return f"{namespace}/segments/"


def segment_data_key(namespace: str, segment_id: str) -> str:
    return f"{segments_prefix(namespace)}{segment_id}/data.parquet"


def segment_deletes_key(namespace: str, segment_id: str, version: int, nonce: str) -> str:
    """Deleted rows of a segment as of manifest `version`; `nonce` keeps two racing folders
    from overwriting each other's."""
    return f"{segments_prefix(namespace)}{segment_id}/deletes.{version}.{nonce}.bin"


def vector_index_key(namespace: str, segment_id: str, column: str) -> str:
    return f"{segments_prefix(namespace)}{segment_id}/{column}.hnsw"


def clustered_index_key(namespace: str, segment_id: str, column: str) -> str:
    """A segment's clustered vector index of `column` (decision 0080)."""
    return f"{segments_prefix(namespace)}{segment_id}/{column}.ivf"


def fts_root(namespace: str) -> str:
    """Where the full-text index's files live (index/fulltext adds the rest)."""
    return f"{namespace}/fts"


# -- whole-root records ----------------------------------------------------------------------


def type_key(name: str) -> str:
    return f"{TYPES}{name}.json"


def sequence_key(name: str) -> str:
    return SEQUENCES + name


def references_prefix(referenced: str) -> str:
    return f"{REFERENCES}{referenced}/"


def schema_key(name: str) -> str:
    return SCHEMAS + name


def view_key(name: str) -> str:
    return VIEWS + name


def decision_key(txid: str) -> str:
    return f"{DECISIONS}{txid}.json"


# -- cluster ---------------------------------------------------------------------------------


def heartbeat_key(node_id: str, instance: str) -> str:
    """The heartbeat of one run (`instance`) of a member: renewed in place while it runs; a
    restart writes a new key, so a key's contents never change."""
    return f"{CLUSTER_NODES}{node_id}/{instance}.json"


def heartbeat_of(key: str) -> tuple[str, str] | None:
    """(node id, instance) a heartbeat key names, or None for other keys."""
    if not key.startswith(CLUSTER_NODES) or not key.endswith(".json"):
        return None
    node_id, _, file = key[len(CLUSTER_NODES) : -len(".json")].partition("/")
    return (node_id, file) if node_id and file and "/" not in file else None


def dirty_key(namespace: str) -> str:
    """The marker saying that a process other than its owner appended to `namespace`."""
    return CLUSTER_DIRTY + namespace


def dirty_namespace(key: str) -> str | None:
    """The namespace a listed dirty marker names, or None for other keys."""
    name = key.removeprefix(CLUSTER_DIRTY)
    return name if key.startswith(CLUSTER_DIRTY) and name and "/" not in name else None
