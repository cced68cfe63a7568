"""Durable sequences as the catalog shows them: pg_class rows of relkind 'S' (SQLAlchemy's
`has_sequence` / `get_sequence_names`, psql `\\ds`), pg_sequence and
information_schema.sequences.

Sequences live on the object store (engine/sequences.py), one object each. The list is
read again at most every few seconds when a statement reads the catalog, and at the next
catalog read after this process creates or drops one; a sequence's options are read again
only when its object was rewritten since (created again, or a block of values reserved).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import duckdb

from ...engine import Engine, SequenceSpec
from ...errors import UndefinedTable
from ..dialect.pg_rewrite import SHIM as S
from .pg_schemas import split_name
from .pg_types import INT2, INT4, INT8

REFRESH_SECONDS = 5.0
TABLE = (  # created with the catalog's other tables (pg_namespaces.py)
    f"CREATE TABLE IF NOT EXISTS {S}.sequences (name VARCHAR, nspname VARCHAR, "
    "relname VARCHAR, seqtypid UINTEGER, seqstart BIGINT, seqincrement BIGINT, "
    "seqmax BIGINT, seqmin BIGINT, seqcache BIGINT)"
)
_TYPES = {"SMALLINT": INT2, "INTEGER": INT4, "BIGINT": INT8}

# pg_class's sequence rows: pg_views.py unions them with the tables and indexes.
SEQUENCE_RELS = f"""SELECT (hash('seq.' || name) % 1000000000)::BIGINT + 100000 AS oid, relname,
  nspname FROM {S}.sequences"""

SEQUENCE_VIEWS: dict[str, str] = {
    "pg_sequence": f"""
SELECT r.oid AS seqrelid, s.seqtypid::BIGINT AS seqtypid, s.seqstart, s.seqincrement,
  s.seqmax, s.seqmin, s.seqcache, false AS seqcycle
FROM {S}.sequences s JOIN ({SEQUENCE_RELS}) r ON r.relname = s.relname
  AND r.nspname = s.nspname""",
    "information_schema_sequences": f"""
SELECT {S}.current_database() AS sequence_catalog, nspname AS sequence_schema,
  relname AS sequence_name, CASE seqtypid WHEN 21 THEN 'smallint' WHEN 23 THEN 'integer'
    ELSE 'bigint' END AS data_type,
  CASE seqtypid WHEN 21 THEN 16 WHEN 23 THEN 32 ELSE 64 END AS numeric_precision,
  2 AS numeric_precision_radix, 0 AS numeric_scale, seqstart::VARCHAR AS start_value,
  seqmin::VARCHAR AS minimum_value, seqmax::VARCHAR AS maximum_value,
  seqincrement::VARCHAR AS increment, 'NO' AS cycle_option
FROM {S}.sequences""",
}


class PgSequences:
    """Keeps `elacsym_pg.sequences` equal to the stored sequences."""

    def __init__(
        self,
        engine: Engine,
        duck: duckdb.DuckDBPyConnection,
        schemas: Callable[[], frozenset[str]],
    ) -> None:
        self._engine = engine
        self._duck = duck.cursor()
        self._schemas = schemas  # the user schemas: a sequence "s.x" is x in schema s
        self._lock = threading.Lock()
        self._specs: dict[str, tuple[float, SequenceSpec]] = {}  # name: (written, options)
        self._read_at = -REFRESH_SECONDS

    def stale(self) -> None:
        """This process created or dropped sequences: the next catalog read lists them."""
        with self._lock:
            self._read_at = -REFRESH_SECONDS

    def refresh(self) -> None:
        """List the sequences again if the list is stale or a few seconds old."""
        with self._lock:
            if time.monotonic() - self._read_at < REFRESH_SECONDS:
                return
            listed = self._engine.sequences.listed()
            self._read_at = time.monotonic()
            specs = {}
            for name, written in listed.items():
                known = self._specs.get(name)
                try:
                    specs[name] = (
                        known if known and known[0] == written
                        else (written, self._engine.sequences.spec(name))
                    )  # fmt: skip
                except UndefinedTable:
                    continue  # dropped since it was listed
            if specs != self._specs:
                self._install(specs)

    def _install(self, specs: dict[str, tuple[float, SequenceSpec]]) -> None:
        schemas = self._schemas()
        rows = [
            [name, *split_name(name, schemas), _TYPES[s.type], s.first, s.increment, s.high,
             s.low, s.cache]
            for name, (_, s) in sorted(specs.items())
        ]  # fmt: skip
        self._duck.execute("BEGIN")
        self._duck.execute(f"DELETE FROM {S}.sequences")
        if rows:
            self._duck.executemany(
                f"INSERT INTO {S}.sequences VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
        self._duck.execute("COMMIT")
        self._specs = specs
