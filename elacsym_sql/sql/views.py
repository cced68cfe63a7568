"""Each namespace as a DuckDB view of exactly its live rows.

The view reads the manifest's segments (local files from the disk cache) minus their
deleted rows and minus every key the unindexed tail touched, plus the tail's live rows.
The tail lives in two DuckDB tables that take each new WAL record as it arrives: rows are
copied into DuckDB once, not again on every write.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable

import duckdb
import numpy as np
import pyarrow as pa

from ..engine import Engine, Snapshot
from ..errors import InvalidName, UndefinedTable
from ..schema import Schema
from ..wal import WalRecord

INTERNAL = "elacsym_internal"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class ViewCatalog:
    """Keeps DuckDB's picture of each namespace equal to the engine's latest snapshot."""

    def __init__(
        self,
        root: duckdb.DuckDBPyConnection,
        engine: Engine,
        on_schema: Callable[[Schema, duckdb.DuckDBPyConnection], None],
    ) -> None:
        self._duck = root.cursor()  # a private connection: user cursors run concurrently
        self._engine = engine
        self._on_schema = on_schema  # installs what depends on a namespace's columns
        self._duck_lock = threading.Lock()  # one DuckDB connection: one user at a time
        self._name_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._applied: dict[str, tuple[str, int, int]] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._duck.execute(f"CREATE SCHEMA IF NOT EXISTS {INTERNAL}")

    @property
    def known(self) -> list[str]:
        return list(self._applied)

    def shows(self, name: str) -> bool:
        """Whether a view of `name` exists (as of its last refresh)."""
        return name in self._applied

    def refresh(self, names: Iterable[str]) -> None:
        """Bring the views of `names` up to date; names that are not namespaces are skipped."""
        for name in names:
            with contextlib.suppress(UndefinedTable, InvalidName):
                self.refresh_one(name)

    def forget(self, names: Iterable[str]) -> None:
        """Rebuild these views from scratch at the next refresh (e.g. a cached file vanished)."""
        for name in names:
            with self._name_locks[name]:
                self._applied.pop(name, None)

    def refresh_one(self, name: str) -> Snapshot:
        """Sync one namespace (a strong read) and return the snapshot its view now shows."""
        # Snapshot and apply under one lock per namespace: snapshots only move forward, so
        # the view never goes back to an older one taken by a slower thread.
        with self._name_locks[name]:
            try:
                snap = self._engine.namespace(name).snapshot()
            except UndefinedTable:
                self._snapshots.pop(name, None)
                if self._applied.pop(name, None) is not None:
                    with self._duck_lock:
                        self._duck.execute(f"DROP VIEW IF EXISTS main.{quote(name)}")
                raise
            previous = self._applied.get(name)
            if previous != snap.token:
                with self._duck_lock:
                    self._duck.execute("BEGIN")
                    try:
                        self._catch_up(snap, previous)
                        self._duck.execute("COMMIT")
                    except BaseException:
                        self._duck.execute("ROLLBACK")
                        raise
                    if previous is None or previous[0] != snap.manifest.incarnation:
                        self._on_schema(snap.schema, self._duck)
                self._applied[name] = snap.token
                self._snapshots[name] = snap
        return snap

    def snapshot_of(self, name: str) -> Snapshot:
        """The snapshot the view of `name` shows now (refreshing it if it has none)."""
        snap = self._snapshots.get(name)
        return snap if snap is not None else self.refresh_one(name)

    def _table(self, name: str, part: str) -> str:
        return f"{INTERNAL}.{quote(name + '__' + part)}"

    def _catch_up(self, snap: Snapshot, previous: tuple[str, int, int] | None) -> None:
        """Apply to DuckDB what changed since `previous`: new WAL records, or a new manifest."""
        schema, name = snap.schema, snap.name
        key = quote(schema.primary_key)
        tail, keys = self._table(name, "tail"), self._table(name, "tail_keys")
        if previous is None or previous[0] != snap.manifest.incarnation:
            cols = ", ".join(f"{quote(c.name)} {c.type}" for c in schema.columns)
            key_type = schema.column(schema.primary_key).type
            self._duck.execute(f"CREATE OR REPLACE TABLE {tail} ({cols}, __seq BIGINT)")
            self._duck.execute(f"CREATE OR REPLACE TABLE {keys} ({key} {key_type}, __seq BIGINT)")
            applied_seq = -1
        else:
            applied_seq = previous[2]
        manifest_moved = previous is None or previous[:2] != snap.token[:2]
        if manifest_moved:  # rows up to the high-water mark now live in segments
            for table in (tail, keys):
                self._duck.execute(
                    f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table} "
                    f"WHERE __seq > {snap.manifest.wal_hwm}"
                )
        for seq, record in snap.tail.records:
            if seq > applied_seq:
                self._append(schema, tail, keys, seq, record)
        if manifest_moved:
            self._load_segments(snap)

    def _append(self, schema: Schema, tail: str, keys: str, seq: int, record: WalRecord) -> None:
        """Add one record's keys and rows; the view picks the newest version of each key."""
        key = quote(schema.primary_key)
        self._duck.register("__elacsym_record", record.table)
        try:
            self._duck.execute(f"INSERT INTO {keys} SELECT {key}, {seq} FROM __elacsym_record")
            if record.kind == "upsert":
                cols = ", ".join(quote(c) for c in schema.names)
                self._duck.execute(f"INSERT INTO {tail} SELECT {cols}, {seq} FROM __elacsym_record")
        finally:
            self._duck.unregister("__elacsym_record")

    def _load_segments(self, snap: Snapshot) -> None:
        files = self._engine.files
        name, schema = snap.name, snap.schema
        seg_no, positions = [], []
        parts = []
        for i, seg in enumerate(snap.manifest.segments):
            path = files.path(name, seg)
            scan = f"read_parquet({_literal(path)}, file_row_number = true)"
            deleted = files.deletes(name, seg)
            if len(deleted):
                seg_no.append(np.full(len(deleted), i, dtype=np.int32))
                positions.append(deleted.astype(np.int64))
                scan = (
                    f"(SELECT s.* FROM {scan} AS s ANTI JOIN "
                    f"(SELECT pos FROM {self._table(name, 'deletes')} WHERE seg = {i}) AS d "
                    "ON s.file_row_number = d.pos)"
                )
            parts.append(f"SELECT * EXCLUDE (file_row_number) FROM {scan}")
        deletes = pa.table(
            {
                "seg": pa.array(np.concatenate(seg_no) if seg_no else [], pa.int32()),
                "pos": pa.array(np.concatenate(positions) if positions else [], pa.int64()),
            }
        )
        self._duck.register("__elacsym_deletes", deletes)
        try:
            self._duck.execute(
                f"CREATE OR REPLACE TABLE {self._table(name, 'deletes')} AS "
                "SELECT * FROM __elacsym_deletes"
            )
        finally:
            self._duck.unregister("__elacsym_deletes")
        self._duck.execute(
            f"CREATE OR REPLACE VIEW main.{quote(name)} AS {self._view_sql(schema, parts)}"
        )

    def _view_sql(self, schema: Schema, segment_scans: list[str]) -> str:
        cols = ", ".join(quote(c) for c in schema.names)
        key = quote(schema.primary_key)
        keys = self._table(schema.name, "tail_keys")
        # A key's newest write in the tail decides: its row if an upsert, nothing if a delete.
        tail = (
            f"SELECT {cols} FROM {self._table(schema.name, 'tail')} AS r SEMI JOIN "
            f"(SELECT {key}, max(__seq) AS __seq FROM {keys} GROUP BY {key}) AS n "
            f"ON r.{key} = n.{key} AND r.__seq = n.__seq"
        )
        if not segment_scans:
            return tail
        casts = ", ".join(
            f"CAST(seg.{quote(c.name)} AS {c.type}) AS {quote(c.name)}" for c in schema.columns
        )
        segments = " UNION ALL BY NAME ".join(segment_scans)
        return (
            f"SELECT {casts} FROM ({segments}) AS seg "
            f"ANTI JOIN {keys} AS t ON seg.{key} = t.{key} UNION ALL {tail}"
        )
