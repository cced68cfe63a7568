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

from ..engine import Engine, Snapshot, WalRecord
from ..errors import InvalidName, UndefinedTable
from ..interrupts import check_interrupt
from ..schema import Schema

INTERNAL = "elacsym_internal"
# A namespace with a hidden storage key has two views: its name shows the columns users
# see; this one (prefix + name) has every column, for writes that must keep the key.
ALL_ROWS = "__elacsym_all__"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rows_view(schema: Schema) -> str:
    """The view of every column of a namespace, hidden key included (unqualified: inside a
    transaction block the block's own temporary view answers to it)."""
    return quote(ALL_ROWS + schema.name) if schema.hidden_key else quote(schema.name)


def _create_views(duck: duckdb.DuckDBPyConnection, schema: Schema, sql: str, temp: bool) -> None:
    """The namespace's view(s) over `sql`, the query of its live rows."""
    kind, where = ("TEMP VIEW", "") if temp else ("VIEW", "main.")
    name = quote(schema.name)
    if schema.hidden_key:
        full = quote(ALL_ROWS + schema.name)
        duck.execute(f"CREATE OR REPLACE {kind} {where}{full} AS {sql}")
        cols = ", ".join(quote(c.name) for c in schema.visible)
        sql = f"SELECT {cols} FROM {where}{full}"
    duck.execute(f"CREATE OR REPLACE {kind} {where}{name} AS {sql}")


def _relation(name: str, part: str) -> str:
    """Name of an Arrow relation registered for a transaction's view of `name`."""
    return f"__elacsym_tx_{name}_{part}"


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
        self._applied: dict[str, tuple[str, int, int, int]] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._duck.execute(f"CREATE SCHEMA IF NOT EXISTS {INTERNAL}")

    @property
    def known(self) -> list[str]:
        return list(self._applied)

    def shows(self, name: str) -> bool:
        """Whether a view of `name` exists (as of its last refresh)."""
        return name in self._applied

    def refresh(self, names: Iterable[str], eventual: bool = False) -> None:
        """Bring the views of `names` up to date; names that are not namespaces are skipped.
        `eventual`: up to this process's cached state of each (no storage request)."""
        for name in names:
            with contextlib.suppress(UndefinedTable, InvalidName):
                self.refresh_one(name, eventual)

    def settle(self, names: Iterable[str]) -> None:
        """After a statement's namespaces were refreshed one by one: refresh again those a
        multi-namespace commit decided meanwhile, so that it shows in all or none."""
        snaps = {n: self._snapshots[n] for n in set(names) if n in self._snapshots}
        if len(snaps) > 1:
            self._engine.decisions.settle(snaps, self.refresh_one)

    def forget(self, names: Iterable[str]) -> None:
        """Rebuild these views from scratch at the next refresh (e.g. a cached file vanished)."""
        for name in names:
            with self._name_locks[name]:
                self._applied.pop(name, None)

    def refresh_one(self, name: str, eventual: bool = False) -> Snapshot:
        """Sync one namespace (a strong read; `eventual`: to the state this process has
        cached) and return the snapshot its view now shows."""
        # Snapshot and apply under one lock per namespace: snapshots only move forward, so
        # the view never goes back to an older one taken by a slower thread.
        with self._name_locks[name]:
            ns = self._engine.namespace(name)
            try:
                snap = ns.recent() if eventual else ns.snapshot()
            except UndefinedTable:
                self._snapshots.pop(name, None)
                if self._applied.pop(name, None) is not None:
                    with self._duck_lock:
                        self._duck.execute(f"DROP VIEW IF EXISTS main.{quote(name)}")
                        self._duck.execute(f"DROP VIEW IF EXISTS main.{quote(ALL_ROWS + name)}")
                raise
            previous = self._applied.get(name)
            shown = self._snapshots.get(name)
            if previous != snap.token:
                shown = self._snapshots.get(name) if previous is not None else None
                with self._duck_lock:
                    self._duck.execute("BEGIN")
                    try:
                        self._catch_up(snap, shown)
                        self._duck.execute("COMMIT")
                    except BaseException:
                        self._duck.execute("ROLLBACK")
                        raise
                    created = previous is None or previous[0] != snap.manifest.incarnation
                    if created or shown is None or shown.schema != snap.schema:  # or indexes
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

    def _catch_up(self, snap: Snapshot, shown: Snapshot | None) -> None:
        """Apply to DuckDB what changed since `shown` (the snapshot the view showed, None:
        nothing yet): new WAL records, records decided since, or a new manifest."""
        schema, name = snap.schema, snap.name
        key = quote(schema.primary_key)
        tail, keys = self._table(name, "tail"), self._table(name, "tail_keys")
        if shown is None or shown.manifest.incarnation != snap.manifest.incarnation:
            cols = ", ".join(f"{quote(c.name)} {c.type}" for c in schema.columns)
            key_type = schema.column(schema.primary_key).type
            self._duck.execute(f"CREATE OR REPLACE TABLE {tail} ({cols}, __seq BIGINT)")
            self._duck.execute(f"CREATE OR REPLACE TABLE {keys} ({key} {key_type}, __seq BIGINT)")
            applied_seq, decided_since = -1, set()
        else:
            # A transaction decided after the view was built lands among records already
            # applied (Tail.insert): add just its records. The view picks each key's
            # highest __seq, so the order rows arrive in DuckDB does not matter. (Rebuilding
            # the whole tail here made every multi-namespace commit cost O(tail).)
            applied_seq = shown.tail_seq
            decided_since = {seq for seq, _ in shown.pending}
        manifest_moved = shown is None or shown.token[:2] != snap.token[:2]
        if manifest_moved:  # rows up to the high-water mark now live in segments
            for table in (tail, keys):
                self._duck.execute(
                    f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table} "
                    f"WHERE __seq > {snap.manifest.wal_hwm}"
                )
        for seq, record in snap.tail.records:
            if seq > applied_seq or seq in decided_since:
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
        name = snap.name
        deletes_table = self._table(name, "deletes")
        parts, deletes = self._segment_scans(snap, f"SELECT seg, pos FROM {deletes_table}")
        self._duck.register("__elacsym_deletes", deletes)
        try:
            self._duck.execute(
                f"CREATE OR REPLACE TABLE {deletes_table} AS SELECT * FROM __elacsym_deletes"
            )
        finally:
            self._duck.unregister("__elacsym_deletes")
        _create_views(self._duck, snap.schema, self._view_sql(snap.schema, parts), temp=False)

    def _segment_scans(self, snap: Snapshot, deletes: str) -> tuple[list[str], pa.Table]:
        """A scan of each segment's live rows (reading `deletes`, a relation of (seg, pos)
        that must hold the returned table), and that table of deleted row positions."""
        files = self._engine.files
        seg_no, positions, parts = [], [], []
        for i, seg in enumerate(snap.manifest.segments):
            check_interrupt()  # each may be downloaded; a refresh stopped here changes nothing
            path = files.path(snap.name, seg)
            scan = f"read_parquet({_literal(path)}, file_row_number = true)"
            deleted = files.deletes(snap.name, seg)
            if len(deleted):
                seg_no.append(np.full(len(deleted), i, dtype=np.int32))
                positions.append(deleted.astype(np.int64))
                scan = (
                    f"(SELECT s.* FROM {scan} AS s ANTI JOIN "
                    f"(SELECT pos FROM ({deletes}) WHERE seg = {i}) AS d "
                    "ON s.file_row_number = d.pos)"
                )
            parts.append(f"SELECT * EXCLUDE (file_row_number) FROM {scan}")
        table = pa.table(
            {
                "seg": pa.array(np.concatenate(seg_no) if seg_no else [], pa.int32()),
                "pos": pa.array(np.concatenate(positions) if positions else [], pa.int64()),
            }
        )
        return parts, table

    # -- a transaction's own snapshot, for one DuckDB connection ---------------------------

    def show_snapshot(self, duck: duckdb.DuckDBPyConnection, snap: Snapshot) -> None:
        """Show `snap` (a transaction's snapshot with its staged writes) as the namespace to
        `duck` alone: a temporary view over the same segment files, the tail from Arrow."""
        schema, name = snap.schema, snap.name
        parts, deletes = self._segment_scans(
            snap, f"SELECT seg, pos FROM {quote(_relation(name, 'deletes'))}"
        )
        duck.register(_relation(name, "deletes"), deletes)
        duck.register(_relation(name, "rows"), snap.tail.rows)
        duck.register(_relation(name, "keys"), pa.table({schema.primary_key: snap.tail.keys}))
        # Arrow's types are storage types (JSON as text, say): cast as the shared tail is.
        tail = f"SELECT {_casts(schema, 'r')} FROM {quote(_relation(name, 'rows'))} AS r"
        sql = _live_rows_sql(schema, parts, quote(_relation(name, "keys")), tail)
        _create_views(duck, schema, sql, temp=True)

    def hide_snapshot(self, duck: duckdb.DuckDBPyConnection, name: str) -> None:
        """Undo `show_snapshot` (the connection may be closed already: nothing to undo)."""
        with contextlib.suppress(duckdb.Error):
            duck.execute(f"DROP VIEW IF EXISTS temp.main.{quote(name)}")
            duck.execute(f"DROP VIEW IF EXISTS temp.main.{quote(ALL_ROWS + name)}")
            for part in ("deletes", "rows", "keys"):
                duck.unregister(_relation(name, part))

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
        return _live_rows_sql(schema, segment_scans, keys, tail)


def _live_rows_sql(schema: Schema, segment_scans: list[str], hidden_keys: str, tail: str) -> str:
    """The namespace's live rows: segment rows whose key the tail does not hide (a relation
    of keys), cast to the namespace's types, plus the tail's rows (`tail`, a query)."""
    if not segment_scans:
        return tail
    key = quote(schema.primary_key)
    segments = " UNION ALL BY NAME ".join(segment_scans)
    return (
        f"SELECT {_casts(schema, 'seg')} FROM ({segments}) AS seg "
        f"ANTI JOIN {hidden_keys} AS t ON seg.{key} = t.{key} UNION ALL {tail}"
    )


def _casts(schema: Schema, alias: str) -> str:
    """Every column of `alias`, cast to the namespace's SQL type, in schema order."""
    return ", ".join(
        f"CAST({alias}.{quote(c.name)} AS {c.type}) AS {quote(c.name)}" for c in schema.columns
    )
