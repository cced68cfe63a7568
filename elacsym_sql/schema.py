"""Namespace schema: columns, primary key and options, validated before anything is stored.

Types are DuckDB's canonical spellings (`VARCHAR`, `FLOAT[384]`, `BIGINT[]`); the SQL layer
translates what users write (`TEXT`, `REAL`, ...) into them. `to_json`/`from_json` is the
form kept in every manifest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from .constraints import Constraints
from .errors import (
    DuplicateColumn,
    InvalidName,
    InvalidParameterValue,
    InvalidTableDefinition,
    NotSupportedError,
    ReservedName,
)

NAME_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # a name that needs no quotes
MAX_NAME_BYTES = 63  # Postgres's NAMEDATALEN - 1

# Scalar types a column may have, with their Arrow storage type. UUID, JSON, JSONB, enum
# labels and intervals (Parquet has no month-day-microsecond type) are kept as strings in
# WAL and Parquet files; the namespace view casts them back. JSONB is DuckDB's JSON under
# an alias (sql/pg_catalog/install.py creates it), so the catalog can tell the two apart.
SCALAR_TYPES: dict[str, pa.DataType] = {
    "BOOLEAN": pa.bool_(),
    "SMALLINT": pa.int16(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "FLOAT": pa.float32(),
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "DATE": pa.date32(),
    "TIME": pa.time64("us"),
    "INTERVAL": pa.string(),
    "BLOB": pa.binary(),
    "UUID": pa.string(),
    "JSON": pa.string(),
    "JSONB": pa.string(),
}
MAX_DECIMAL_PRECISION = 38  # DuckDB's widest DECIMAL (a 128-bit integer)
KEY_TYPES = ("BIGINT", "INTEGER", "SMALLINT", "VARCHAR", "UUID")
INTEGER_KEY_TYPES = ("BIGINT", "INTEGER", "SMALLINT")
# The hidden storage key of a table declared without a primary key (a row id drawn from a
# sequence) or with a composite one (an encoding of the key's values): never shown.
ROWID = "__rowid"
COMPOSITE_KEY = "__key"
HIDDEN_KEYS = {ROWID: "BIGINT", COMPOSITE_KEY: "VARCHAR"}
METRICS = ("cosine", "l2", "dot")
LANGUAGES = (
    "arabic", "danish", "dutch", "english", "finnish", "french", "german", "greek",
    "hungarian", "italian", "norwegian", "portuguese", "romanian", "russian", "spanish",
    "swedish", "tamil", "turkish",
)  # fmt: skip
MAX_VECTOR_DIM = 16_000

# Column names the search functions and internal bookkeeping use.
RESERVED_COLUMNS = frozenset(
    {"_distance", "_score", "_vector_rank", "_text_rank", "_snippet", "_rank"}
)
# A type: a scalar (BIGINT, DECIMAL(10,2), ENUM('a', 'b')), then `[]` for a list or `[d]`
# for a vector.
_TYPE_RE = re.compile(r"([A-Z]+(?:\(.*\))?)(\[(\d*)\])?", re.DOTALL)
_DECIMAL_RE = re.compile(r"DECIMAL\((\d+),(\d+)\)")
_ENUM_RE = re.compile(r"ENUM\(('(?:[^']|'')*'(?:, '(?:[^']|'')*')*)\)", re.DOTALL)


def is_name(name: str) -> bool:
    """Whether `name` may name a namespace, column or sequence: 1-63 bytes of UTF-8 as
    written (quoted names keep capitals and punctuation), without '/' (it is a storage
    key's separator), control characters, or a leading '.' (storage's own prefixes)."""
    return (
        0 < len(name.encode()) <= MAX_NAME_BYTES
        and "/" not in name
        and not name.startswith(".")
        and all(ch >= " " and ch != "\x7f" for ch in name)
    )


def check_name(name: str, what: str) -> str:
    if not is_name(name):
        raise InvalidName(
            f"invalid {what} name {name!r}",
            hint="names are 1-63 bytes, without '/', control characters or a leading '.'",
        )
    return name


def sql_name(name: str) -> str:
    """`name` as SQL writes it: bare when it needs no quotes, else double-quoted."""
    return name if NAME_RE.fullmatch(name) else '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # canonical: "BIGINT", "VARCHAR[]", "FLOAT[384]"
    not_null: bool = False
    default: str | None = None  # a SQL expression (DuckDB's dialect), as Postgres shows it
    identity: str | None = None  # "always" or "by default": GENERATED ... AS IDENTITY
    hidden: bool = False  # a hidden storage key (ROWID, COMPOSITE_KEY)
    pgvector: bool = False  # FLOAT[d] declared as pgvector's vector(d): sent as its type
    # A VARCHAR declared as Postgres's "varchar" or "bpchar" (CHAR) rather than text, with
    # its length (n) when declared: shown so in the catalog, longer values refused (22001).
    char_kind: str | None = None
    length: int | None = None

    @property
    def base(self) -> str:
        """The scalar type: the type itself, or the type of a list's items."""
        return _TYPE_RE.fullmatch(self.type).group(1)  # type: ignore[union-attr]

    @property
    def is_list(self) -> bool:
        return self.type.endswith("[]")

    @property
    def dim(self) -> int | None:
        """Vector dimension for `FLOAT[d]`, else None."""
        m = _TYPE_RE.fullmatch(self.type)
        return int(m.group(3)) if m and m.group(3) else None

    @property
    def is_vector(self) -> bool:
        return self.dim is not None

    @property
    def arrow_type(self) -> pa.DataType:
        scalar = storage_type(self.base)
        if self.is_vector:
            return pa.list_(pa.float32(), self.dim)
        return pa.list_(scalar) if self.is_list else scalar


TYPES_HINT = (
    "use BOOLEAN, SMALLINT, INTEGER, BIGINT, NUMERIC(p,s), REAL, DOUBLE PRECISION, TEXT, "
    "BYTEA, DATE, TIME, TIMESTAMP, TIMESTAMPTZ, INTERVAL, UUID, JSON, JSONB, an enum type, "
    "an array of one of them (TEXT[]), or FLOAT[d] for a vector"
)


def enum_type(labels: list[str] | tuple[str, ...]) -> str:
    """The canonical type of an enum with these labels (DuckDB's spelling)."""
    return "ENUM(" + ", ".join("'" + x.replace("'", "''") + "'" for x in labels) + ")"


def enum_labels(type_: str) -> list[str] | None:
    """The labels of an enum type, or None for another type."""
    m = _ENUM_RE.fullmatch(type_)
    if not m:
        return None
    return [x.replace("''", "'") for x in re.findall(r"'((?:[^']|'')*)'", m.group(1))]


def storage_type(scalar: str) -> pa.DataType:
    """How values of a scalar type are kept in WAL and Parquet files."""
    decimal = _DECIMAL_RE.fullmatch(scalar)
    if decimal:
        return pa.decimal128(int(decimal.group(1)), int(decimal.group(2)))
    if enum_labels(scalar) is not None:
        return pa.string()
    return SCALAR_TYPES[scalar]


def _known_scalar(scalar: str) -> bool:
    decimal = _DECIMAL_RE.fullmatch(scalar)
    if decimal:
        precision, scale = int(decimal.group(1)), int(decimal.group(2))
        return 1 <= precision <= MAX_DECIMAL_PRECISION and 0 <= scale <= precision
    return scalar in SCALAR_TYPES or bool(enum_labels(scalar))


def check_type(type_: str) -> str:
    m = _TYPE_RE.fullmatch(type_)
    if not m or not _known_scalar(m.group(1)):
        raise NotSupportedError(f"type {type_} is not supported", hint=TYPES_HINT)
    if m.group(3):
        dim = int(m.group(3))
        if m.group(1) != "FLOAT":
            raise NotSupportedError(
                f"fixed-size array type {type_} is not supported", hint="vectors are FLOAT[d]"
            )
        if not 1 <= dim <= MAX_VECTOR_DIM:
            raise InvalidTableDefinition(f"vector dimension must be 1..{MAX_VECTOR_DIM}")
    return type_


# Postgres's storage parameters of a table that tune its heap pages and vacuum
# (CREATE TABLE ... WITH): accepted, and meaningless for immutable segments.
HEAP_STORAGE_PARAMETERS = frozenset(
    ("fillfactor", "toast_tuple_target", "parallel_workers", "user_catalog_table",
     "vacuum_index_cleanup", "vacuum_truncate", "log_autovacuum_min_duration")
)  # fmt: skip


DEFAULT_RECALL_TARGET = 0.97
VECTOR_INDEX_KINDS = ("auto", "exact", "hnsw", "clustered")


@dataclass(frozen=True)
class Options:
    metric: str = "cosine"
    full_text: tuple[str, ...] = ()
    language: str = "english"
    stemming: bool = True
    stopwords: bool = True
    case_sensitive: bool = False
    k1: float = 1.2
    b: float = 0.75
    # recall@10 vector searches aim for, by default (decision 0063); 1 searches exactly
    recall_target: float = DEFAULT_RECALL_TARGET
    # the vector index kind of new segments: auto (the planner, decision 0081), exact,
    # hnsw or clustered
    vector_index: str = "auto"

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Options:
        """Options from `WITH (...)`; values arrive as Python scalars."""
        known = {f for f in cls.__dataclass_fields__}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            key = key.lower()
            if key in HEAP_STORAGE_PARAMETERS or key.startswith(("autovacuum_", "toast.")):
                continue  # Postgres's page/vacuum tuning: nothing here to tune (pgbench sets it)
            if key not in known:
                raise InvalidParameterValue(
                    f"unknown namespace option {key!r}", hint=f"options: {', '.join(sorted(known))}"
                )
            values[key] = _coerce_option(key, value)
        return cls(**values)


def _column_name(text: str) -> str:
    """A column named in an option: "Quoted" as written, otherwise lower-cased."""
    if len(text) > 1 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


def _coerce_option(key: str, value: Any) -> Any:
    bad = InvalidParameterValue(f"invalid value {value!r} for option {key}")
    if key == "metric":
        if str(value).lower() not in METRICS:
            raise InvalidParameterValue(
                f"invalid metric {value!r}", hint=f"metric is one of {', '.join(METRICS)}"
            )
        return str(value).lower()
    if key == "language":
        if str(value).lower() not in LANGUAGES:
            raise InvalidParameterValue(
                f"unsupported language {value!r}", hint=f"languages: {', '.join(LANGUAGES)}"
            )
        return str(value).lower()
    if key == "full_text":
        cols = value if isinstance(value, list | tuple) else str(value).split(",")
        return tuple(_column_name(c.strip()) for c in cols if c.strip())
    if key == "vector_index":
        if str(value).lower() not in VECTOR_INDEX_KINDS:
            raise InvalidParameterValue(
                f"invalid vector_index {value!r}",
                hint=f"vector_index is one of {', '.join(VECTOR_INDEX_KINDS)}",
            )
        return str(value).lower()
    if key in ("stemming", "stopwords", "case_sensitive"):
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text not in ("true", "false", "on", "off", "1", "0"):
            raise bad
        return text in ("true", "on", "1")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise bad from None
    if key == "k1" and not 0 < number <= 10:
        raise InvalidParameterValue("k1 must be in (0, 10]")
    if key == "b" and not 0 <= number <= 1:
        raise InvalidParameterValue("b must be in [0, 1]")
    if key == "recall_target":
        return check_recall_target(number)
    return number


def check_recall_target(value: object) -> float:
    """A recall target: a number in (0, 1]."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1
    if not ok:
        raise InvalidParameterValue(f"recall_target must be a number in (0, 1], not {value!r}")
    return float(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Schema:
    name: str
    columns: tuple[Column, ...]
    primary_key: str  # the storage key: the declared key's one column, or a hidden one
    options: Options = field(default_factory=Options)
    key_columns: tuple[str, ...] | None = None  # the declared key; None: (primary_key,)
    constraints: Constraints = field(default_factory=Constraints)
    # The Postgres schema the table is in; outside public the name is "<pg_schema>.<table>"
    # (decision 0033).
    pg_schema: str = "public"
    key_name: str | None = None  # CONSTRAINT name PRIMARY KEY (...); None: Postgres's default
    # COMMENT ON texts: (kind, object, text), kind "table" (object ""), "column",
    # "constraint" or "index" (decision 0053).
    comments: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        check_name(self.name, "namespace")
        if self.pg_schema != "public" and not self.name.startswith(self.pg_schema + "."):
            raise InvalidTableDefinition(f"{self.name!r} is not a name in {self.pg_schema!r}")
        seen: set[str] = set()
        for col in self.columns:
            check_name(col.name, "column")
            hidden_ok = col.hidden and HIDDEN_KEYS.get(col.name) == col.type
            if col.name in RESERVED_COLUMNS or (col.name.startswith("__") and not hidden_ok):
                raise ReservedName(f"column name {col.name!r} is reserved")
            # DuckDB matches names without regard to case, quoted or not.
            if col.name.lower() in {n.lower() for n in seen}:
                raise DuplicateColumn(f'column "{col.name}" specified more than once')
            seen.add(col.name)
            check_type(col.type)
        if self.primary_key not in seen:
            raise InvalidTableDefinition(f"primary key {self.primary_key!r} is not a column")
        key_type = self.column(self.primary_key).type
        if key_type not in KEY_TYPES:
            raise InvalidTableDefinition(
                f"primary key must be BIGINT, INTEGER, SMALLINT, TEXT or UUID, not {key_type}",
                hint="or a composite key of such columns, or no key at all",
            )
        for name in self.declared_key:
            if name not in seen or self.column(name).type.endswith("]"):
                raise InvalidTableDefinition(f"primary key column {name!r} must be a scalar column")
        self.constraints.check(self)
        for name in self.options.full_text:
            if name not in seen:
                raise InvalidTableDefinition(f"full_text column {name!r} is not a column")
            if self.column(name).base != "VARCHAR":
                raise InvalidTableDefinition(f"full_text column {name!r} must be TEXT or TEXT[]")

    @property
    def relname(self) -> str:
        """The table's name within its Postgres schema."""
        return self.name if self.pg_schema == "public" else self.name[len(self.pg_schema) + 1 :]

    @property
    def pkey_name(self) -> str:
        """The primary key's constraint (and index) name: as declared, or as Postgres names it."""
        return self.key_name or f"{self.relname}_pkey"

    def comment(self, kind: str, name: str = "") -> str | None:
        """The COMMENT ON text of the table, or one of its columns, constraints or indexes."""
        return next((text for k, n, text in self.comments if (k, n) == (kind, name)), None)

    def with_comment(self, kind: str, name: str, text: str | None) -> Schema:
        """This schema with the comment of one object set (None: removed)."""
        kept = tuple(c for c in self.comments if (c[0], c[1]) != (kind, name))
        return replace(self, comments=kept + (((kind, name, text),) if text else ()))

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def visible(self) -> list[Column]:
        """The columns users see (all but a hidden storage key), in order."""
        return [c for c in self.columns if not c.hidden]

    @property
    def declared_key(self) -> tuple[str, ...]:
        """The PRIMARY KEY as declared: one column, several, or none."""
        if self.key_columns is not None:
            return self.key_columns
        return () if self.column(self.primary_key).hidden else (self.primary_key,)

    @property
    def hidden_key(self) -> str | None:
        """ROWID or COMPOSITE_KEY when the storage key is hidden, else None."""
        return self.primary_key if self.column(self.primary_key).hidden else None

    def is_required(self, col: Column) -> bool:
        """NOT NULL as Postgres has it: declared, or part of the primary key."""
        return col.not_null or col.name in self.declared_key or col.name == self.primary_key

    @property
    def vector_columns(self) -> list[Column]:
        return [c for c in self.columns if c.is_vector]

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [
                pa.field(c.name, c.arrow_type, nullable=c.name != self.primary_key)
                for c in self.columns
            ]
        )

    def to_json(self) -> dict[str, Any]:
        opts = self.options
        return {
            "name": self.name,
            "primary_key": self.primary_key,
            "columns": [
                {k: v for k, v in c.__dict__.items() if v or k in ("name", "type", "not_null")}
                for c in self.columns
            ],
            "options": {**opts.__dict__, "full_text": list(opts.full_text)},
            "key_columns": None if self.key_columns is None else list(self.key_columns),
            "constraints": self.constraints.to_json(),
            "pg_schema": self.pg_schema,
            "key_name": self.key_name,
            "comments": [list(c) for c in self.comments],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schema:
        return cls(
            name=data["name"],
            primary_key=data["primary_key"],
            columns=tuple(Column(**c) for c in data["columns"]),
            options=Options(
                **{**data["options"], "full_text": tuple(data["options"]["full_text"])}
            ),
            key_columns=None if data.get("key_columns") is None else tuple(data["key_columns"]),
            constraints=Constraints.from_json(data.get("constraints") or {}),
            pg_schema=data.get("pg_schema", "public"),
            key_name=data.get("key_name"),
            comments=tuple(tuple(c) for c in data.get("comments") or ()),  # type: ignore[misc]
        )
