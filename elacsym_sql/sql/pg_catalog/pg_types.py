"""Postgres type OIDs and how DuckDB's types map onto them.

A DuckDB type is named by its SQL text (`str(duckdb_type)`): 'BIGINT', 'FLOAT[384]',
'VARCHAR[]', 'DECIMAL(18,3)', 'TIMESTAMP WITH TIME ZONE', ... Types Postgres has no
counterpart for (STRUCT, MAP, UNION, ENUM, BIT) travel as text.
"""

from __future__ import annotations

import re
import threading
import zlib
from dataclasses import dataclass

BOOL, BYTEA, CHAR, NAME, INT8, INT2, INT4, TEXT, OID = 16, 17, 18, 19, 20, 21, 23, 25, 26
JSON, FLOAT4, FLOAT8, UNKNOWN, VARCHAR, BPCHAR = 114, 700, 701, 705, 1043, 1042
DATE, TIME, TIMESTAMP, TIMESTAMPTZ, INTERVAL = 1082, 1083, 1114, 1184, 1186
NUMERIC, UUID, JSONB, REGPROC, REGCLASS, REGTYPE = 1700, 2950, 3802, 24, 2205, 2206
INT2VECTOR, OIDVECTOR = 22, 30
# DuckDB has no int2vector or oidvector (pg_index.indkey, indoption, indclass): array-like
# in SQL, space-separated on the wire ('1 2'; SQLAlchemy splits it). The catalog spells
# them as list types nothing else there uses.
_VECTOR_TYPES = {"USMALLINT[]": INT2VECTOR, "UBIGINT[]": OIDVECTOR}
BIT = 1560
# pgvector's type (an extension's type: its OID is ours to choose, and stays this one).
VECTOR, VECTOR_ARRAY = 16401, 16402


# The DuckDB type of catalog columns Postgres types as "char" (pg_type.typtype): an enum
# of their letters, which no namespace column has, so the wire can send OID 18 (asyncpg
# reads typtype as bytes and accepts a custom codec, pgvector's, only for b'b').
PG_CHAR = "ENUM('b', 'c', 'd', 'e', 'p', 'r', 'm')"

# A NUMERIC without precision: DuckDB has no unbounded decimal (decision 0030).
UNCONSTRAINED_NUMERIC = "DECIMAL(38,12)"
UNCONSTRAINED_SCALE = (38, 12)  # its (precision, scale): sent as numeric without typmod


@dataclass(frozen=True)
class PgType:
    oid: int
    typname: str  # pg_type.typname
    name: str  # Postgres's name, as format_type() prints it
    size: int  # typlen: bytes of a fixed-size value, -1 for variable
    array_oid: int
    category: str  # pg_type.typcategory
    element: int = 0  # for an array type: the element type's OID


_BASE = [
    PgType(BOOL, "bool", "boolean", 1, 1000, "B"),
    PgType(BYTEA, "bytea", "bytea", -1, 1001, "U"),
    PgType(CHAR, "char", '"char"', 1, 1002, "S"),
    PgType(NAME, "name", "name", 64, 1003, "S"),
    PgType(INT2VECTOR, "int2vector", "int2vector", -1, 0, "A", element=INT2),
    PgType(OIDVECTOR, "oidvector", "oidvector", -1, 0, "A", element=OID),
    PgType(INT8, "int8", "bigint", 8, 1016, "N"),
    PgType(INT2, "int2", "smallint", 2, 1005, "N"),
    PgType(INT4, "int4", "integer", 4, 1007, "N"),
    PgType(TEXT, "text", "text", -1, 1009, "S"),
    PgType(OID, "oid", "oid", 4, 1028, "N"),
    PgType(REGPROC, "regproc", "regproc", 4, 1008, "S"),
    PgType(JSON, "json", "json", -1, 199, "S"),
    PgType(FLOAT4, "float4", "real", 4, 1021, "N"),
    PgType(FLOAT8, "float8", "double precision", 8, 1022, "N"),
    PgType(UNKNOWN, "unknown", "unknown", -2, 0, "S"),
    PgType(BPCHAR, "bpchar", "character", -1, 1014, "S"),
    PgType(VARCHAR, "varchar", "character varying", -1, 1015, "S"),
    PgType(DATE, "date", "date", 4, 1182, "D"),
    PgType(TIME, "time", "time without time zone", 8, 1183, "D"),
    PgType(TIMESTAMP, "timestamp", "timestamp without time zone", 8, 1115, "D"),
    PgType(TIMESTAMPTZ, "timestamptz", "timestamp with time zone", 8, 1185, "D"),
    PgType(INTERVAL, "interval", "interval", 16, 1187, "T"),
    PgType(NUMERIC, "numeric", "numeric", -1, 1231, "N"),
    PgType(UUID, "uuid", "uuid", 16, 2951, "S"),
    PgType(JSONB, "jsonb", "jsonb", -1, 3807, "S"),
    PgType(REGCLASS, "regclass", "regclass", 4, 2210, "S"),
    PgType(REGTYPE, "regtype", "regtype", 4, 2211, "S"),
    PgType(BIT, "bit", "bit", -1, 1561, "V"),  # pgvector's register_vector looks it up
    PgType(VECTOR, "vector", "vector", -1, VECTOR_ARRAY, "U"),
]
BY_OID: dict[int, PgType] = {t.oid: t for t in _BASE}
for _t in _BASE:
    if _t.array_oid:
        BY_OID[_t.array_oid] = PgType(
            _t.array_oid, "_" + _t.typname, _t.name + "[]", -1, 0, "A", element=_t.oid
        )


def type_rows() -> list[tuple[int, str, str, int, str, int, int]]:
    """pg_type's rows: (oid, typname, display name, typlen, typcategory, typelem, typarray)."""
    return [
        (t.oid, t.typname, t.name, t.size, t.category, t.element, t.array_oid)
        for _, t in sorted(BY_OID.items())
    ]


# DuckDB base type name -> Postgres OID.
_FROM_DUCK = {
    "BOOLEAN": BOOL,
    "TINYINT": INT2,
    "UTINYINT": INT2,
    "SMALLINT": INT2,
    "USMALLINT": INT4,
    "INTEGER": INT4,
    "UINTEGER": OID,  # Postgres's oid is an unsigned 32-bit integer; DuckDB's `oid` is BIGINT
    "BIGINT": INT8,
    "UBIGINT": NUMERIC,
    "HUGEINT": NUMERIC,
    "UHUGEINT": NUMERIC,
    "FLOAT": FLOAT4,
    "DOUBLE": FLOAT8,
    "VARCHAR": TEXT,
    "BLOB": BYTEA,
    "DATE": DATE,
    "TIME": TIME,
    "TIMESTAMP": TIMESTAMP,
    "TIMESTAMP_S": TIMESTAMP,
    "TIMESTAMP_MS": TIMESTAMP,
    "TIMESTAMP_NS": TIMESTAMP,
    "TIMESTAMP WITH TIME ZONE": TIMESTAMPTZ,
    "TIMESTAMPTZ": TIMESTAMPTZ,  # a namespace column's type as its schema spells it
    "JSONB": JSONB,  # likewise: DuckDB itself calls it JSON
    "VECTOR": VECTOR,  # a pgvector column's (declared_types.py); DuckDB calls it FLOAT[d]
    "INTERVAL": INTERVAL,
    "UUID": UUID,
    "JSON": JSON,
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_ARRAY = re.compile(r"^(.*)\[(\d*)\]$")


@dataclass(frozen=True)
class Column:
    """A result column as Postgres describes it."""

    name: str
    oid: int
    size: int
    modifier: int = -1


# Enum types users created (sql/pg_catalog/enum_types.py), by DuckDB's spelling of their type
# ("ENUM('sad', 'ok')"): DuckDB names a result's enum type by its labels, not its name.
_ENUMS: dict[str, int] = {}  # type text -> OID
_ENUMS_LOCK = threading.Lock()


def enum_oid(name: str) -> int:
    """A user type's OID: a hash of its name, stable across restarts and processes, above
    Postgres's built-in OIDs (as relation OIDs are, pg_views.py)."""
    return zlib.crc32(b"type:" + name.encode()) % 1_000_000_000 + 100_000


def register_enum(name: str, duck_type: str) -> int:
    """Make results of this enum type travel as the type `name`; returns its OID."""
    oid = enum_oid(name)
    with _ENUMS_LOCK:
        _ENUMS[duck_type] = oid
    return oid


def forget_enum(duck_type: str) -> None:
    with _ENUMS_LOCK:
        _ENUMS.pop(duck_type, None)


def pg_type_of(duck_type: str) -> tuple[int, int]:
    """(OID, type modifier) for a DuckDB type's SQL text."""
    text = duck_type.strip()
    if text == PG_CHAR:
        return CHAR, -1
    if text.startswith("ENUM("):
        return _ENUMS.get(text, TEXT), -1  # an enum no CREATE TYPE names: its labels as text
    if text in _VECTOR_TYPES:
        return _VECTOR_TYPES[text], -1
    array = _ARRAY.match(text)
    if array:
        element, _ = pg_type_of(array.group(1))
        pg = BY_OID.get(element)
        if pg is None or pg.array_oid == 0 or pg.element:
            return TEXT, -1  # nested arrays: Postgres arrays are flat; send text
        return pg.array_oid, -1
    if text == UNCONSTRAINED_NUMERIC:
        return NUMERIC, -1  # as Postgres's numeric without precision: format_type 'numeric'
    decimal = _DECIMAL.fullmatch(text)
    if decimal:
        precision, scale = int(decimal.group(1)), int(decimal.group(2))
        return NUMERIC, ((precision << 16) | scale) + 4
    return _FROM_DUCK.get(text, TEXT), -1


def column(name: str, duck_type: str) -> Column:
    oid, modifier = pg_type_of(duck_type)
    return Column(name, oid, BY_OID[oid].size if oid in BY_OID else 4, modifier)


def is_nested_list(duck_type: str) -> bool:
    """A list of lists: Postgres has only flat (multi-dimensional) arrays."""
    array = _ARRAY.match(duck_type.strip())
    return bool(array) and bool(_ARRAY.match(array.group(1)))


def duck_type_of(oid: int) -> str | None:
    """The DuckDB type a parameter of this OID binds as; None for unknown (text)."""
    pg = BY_OID.get(oid)
    if pg is None or oid in (UNKNOWN, 0):
        return None
    if pg.element:
        inner = duck_type_of(pg.element)
        return None if inner is None else inner + "[]"
    return _TO_DUCK.get(oid)


_TO_DUCK = {
    BOOL: "BOOLEAN",
    BYTEA: "BLOB",
    INT8: "BIGINT",
    INT2: "SMALLINT",
    INT4: "INTEGER",
    OID: "UINTEGER",
    TEXT: "VARCHAR",
    VARCHAR: "VARCHAR",
    BPCHAR: "VARCHAR",
    NAME: "VARCHAR",
    CHAR: "VARCHAR",
    JSON: "JSON",
    JSONB: "JSON",
    FLOAT4: "FLOAT",
    FLOAT8: "DOUBLE",
    DATE: "DATE",
    TIME: "TIME",
    TIMESTAMP: "TIMESTAMP",
    TIMESTAMPTZ: "TIMESTAMPTZ",
    INTERVAL: "INTERVAL",
    NUMERIC: UNCONSTRAINED_NUMERIC,
    UUID: "UUID",
    VECTOR: "FLOAT[]",
}
