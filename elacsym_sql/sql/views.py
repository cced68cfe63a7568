"""Each namespace as a DuckDB view of exactly its live rows.

The view reads the manifest's segments (local files from the disk cache) minus their
deleted rows and minus every key the unindexed tail touched, plus the tail's live rows.
The tail lives in two DuckDB tables, replaced whenever the engine's snapshot moves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import duckdb
import numpy as np
import pyarrow as pa

from ..engine import Engine, Snapshot
from ..errors import InvalidName, UndefinedTable
from ..schema import Schema

INTERNAL = "elacsym_internal"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class ViewCatalog:
    """Keeps DuckDB's picture of each namespace equal to the engine's latest snapshot."""

    def __init__(self, root: duckdb.DuckDBPyConnection, engine: Engine) -> None:
        self._duck = root.cursor()  # a private connection: user cursors run concurrently
        self._engine = engine
        self._lock = threading.Lock()
        self._applied: dict[str, tuple[str, int, int]] = {}
        self._duck.execute(f"CREATE SCHEMA IF NOT EXISTS {INTERNAL}")

    @property
    def known(self) -> list[str]:
        with self._lock:
            return list(self._applied)

    def refresh(self, names: Iterable[str]) -> None:
        """Bring the views of `names` up to date; names that are not namespaces are skipped."""
        for name in names:
            try:
                self.refresh_one(name)
            except (UndefinedTable, InvalidName):
                pass

    def refresh_one(self, name: str) -> Snapshot:
        """Sync one namespace (a strong read) and return the snapshot its view now shows."""
        try:
            snap = self._engine.namespace(name).snapshot()
        except UndefinedTable:
            with self._lock:
                if self._applied.pop(name, None) is not None:
                    self._duck.execute(f"DROP VIEW IF EXISTS main.{quote(name)}")
            raise
        with self._lock:
            previous = self._applied.get(name)
            if previous != snap.token:
                manifest_moved = previous is None or previous[:2] != snap.token[:2]
                self._load_tail(snap)
                if manifest_moved:
                    self._load_segments(snap)
                self._applied[name] = snap.token
        return snap

    def _table(self, name: str, part: str) -> str:
        return f"{INTERNAL}.{quote(name + '__' + part)}"

    def _load_tail(self, snap: Snapshot) -> None:
        schema, tail = snap.schema, snap.tail
        casts = ", ".join(f"CAST({quote(c.name)} AS {c.type}) AS {quote(c.name)}"
                          for c in schema.columns)
        key = quote(schema.primary_key)
        self._duck.register("__elacsym_rows", tail.rows)
        self._duck.register("__elacsym_keys", pa.table({schema.primary_key: tail.keys}))
        try:
            self._duck.execute(f"CREATE OR REPLACE TABLE {self._table(snap.name, 'tail')} AS "
                               f"SELECT {casts} FROM __elacsym_rows")
            key_type = schema.column(schema.primary_key).type
            self._duck.execute(f"CREATE OR REPLACE TABLE {self._table(snap.name, 'tail_keys')} AS "
                               f"SELECT CAST({key} AS {key_type}) AS {key} FROM __elacsym_keys")
        finally:
            self._duck.unregister("__elacsym_rows")
            self._duck.unregister("__elacsym_keys")

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
                scan = (f"(SELECT s.* FROM {scan} AS s ANTI JOIN "
                        f"(SELECT pos FROM {self._table(name, 'deletes')} WHERE seg = {i}) AS d "
                        "ON s.file_row_number = d.pos)")
            parts.append(f"SELECT * EXCLUDE (file_row_number) FROM {scan}")
        deletes = pa.table({
            "seg": pa.array(np.concatenate(seg_no) if seg_no else [], pa.int32()),
            "pos": pa.array(np.concatenate(positions) if positions else [], pa.int64()),
        })
        self._duck.register("__elacsym_deletes", deletes)
        try:
            self._duck.execute(f"CREATE OR REPLACE TABLE {self._table(name, 'deletes')} AS "
                               "SELECT * FROM __elacsym_deletes")
        finally:
            self._duck.unregister("__elacsym_deletes")
        self._duck.execute(f"CREATE OR REPLACE VIEW main.{quote(name)} AS {self._view_sql(schema, parts)}")

    def _view_sql(self, schema: Schema, segment_scans: list[str]) -> str:
        cols = ", ".join(quote(c) for c in schema.names)
        tail = f"SELECT {cols} FROM {self._table(schema.name, 'tail')}"
        if not segment_scans:
            return tail
        casts = ", ".join(f"CAST(seg.{quote(c.name)} AS {c.type}) AS {quote(c.name)}"
                          for c in schema.columns)
        key = quote(schema.primary_key)
        segments = " UNION ALL BY NAME ".join(segment_scans)
        return (f"SELECT {casts} FROM ({segments}) AS seg "
                f"ANTI JOIN {self._table(schema.name, 'tail_keys')} AS t ON seg.{key} = t.{key} "
                f"UNION ALL {tail}")
