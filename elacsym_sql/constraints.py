"""Table constraints a namespace keeps in its schema: CHECK, UNIQUE and FOREIGN KEY, and the
indexes CREATE INDEX adds (a unique one is a uniqueness rule like UNIQUE; decision 0032).

NOT NULL, DEFAULT and the primary key live on the columns and the schema (schema.py). The
checks are enforced on write (engine/constraints.py for the rows of one statement, the SQL
layer for what needs other rows); docs/decisions/0026-constraints.md says what is checked
where. Names default as Postgres names them: `<table>_<column>_check`, `_key`, `_fkey`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import (
    DuplicateObject,
    DuplicateTable,
    InvalidForeignKey,
    NotSupportedError,
    UndefinedColumn,
)

if TYPE_CHECKING:
    from .schema import Schema

ON_DELETE = ("no action", "restrict")  # CASCADE, SET NULL: not yet (decision 0026)


@dataclass(frozen=True)
class Check:
    name: str
    sql: str  # a predicate over the row's columns, in DuckDB's dialect


@dataclass(frozen=True)
class Unique:
    name: str
    columns: tuple[str, ...]
    primary: bool = False  # a primary key added by ALTER TABLE (sql/statements/alter_table.py)


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    table: str  # the referenced namespace
    ref_columns: tuple[str, ...]  # its primary key, in order
    on_delete: str = "no action"


@dataclass(frozen=True)
class IndexKey:
    """One element of an index: a column, or an expression (as written), with its order."""

    column: str | None  # None: an expression
    expression: str = ""
    opclass: str = ""
    descending: bool = False
    nulls_first: bool = False  # Postgres's default is NULLS FIRST for DESC, LAST for ASC

    @property
    def option(self) -> int:
        """pg_index.indoption's bits: 1 DESC, 2 NULLS FIRST."""
        return int(self.descending) | 2 * int(self.nulls_first)


@dataclass(frozen=True)
class Index:
    """An index CREATE INDEX made: recorded in the catalog; a unique one is enforced."""

    name: str
    keys: tuple[IndexKey, ...]
    unique: bool = False
    method: str = "btree"
    options: tuple[str, ...] = ()  # WITH (m = 16, ...) as "m=16", Postgres's reloptions

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(k.column for k in self.keys if k.column is not None)

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "keys": [k.__dict__ for k in self.keys],
                "options": list(self.options)}  # fmt: skip

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Index:
        keys = tuple(IndexKey(**k) for k in raw["keys"])
        return cls(raw["name"], keys, raw["unique"], raw["method"], tuple(raw["options"]))


@dataclass(frozen=True)
class Constraints:
    checks: tuple[Check, ...] = ()
    uniques: tuple[Unique, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()

    @property
    def added_key(self) -> Unique | None:
        """The primary key ALTER TABLE added (kept as a constraint), if any."""
        return next((u for u in self.uniques if u.primary), None)

    @property
    def names(self) -> list[str]:
        return [c.name for c in (*self.checks, *self.uniques, *self.foreign_keys)]

    @property
    def unique_keys(self) -> tuple[Unique, ...]:
        """Every uniqueness rule writes must keep: UNIQUE constraints and unique indexes."""
        return self.uniques + tuple(Unique(i.name, i.columns) for i in self.indexes if i.unique)

    def check(self, schema: Schema) -> None:
        """Refuse constraints on columns the table lacks, or two of one name."""
        names = set(schema.names)
        for cons in (*self.uniques, *self.foreign_keys):
            for col in cons.columns:
                if col not in names:
                    raise UndefinedColumn(f'column "{col}" named in key does not exist')
        for fk in self.foreign_keys:
            if len(fk.columns) != len(fk.ref_columns):
                raise InvalidForeignKey(
                    "number of referencing and referenced columns for foreign key disagree"
                )
            if fk.on_delete not in ON_DELETE:
                raise NotSupportedError(f"ON DELETE {fk.on_delete.upper()} is not supported")
        seen: set[str] = set() if self.added_key else {schema.pkey_name}
        for name in self.names:
            if name in seen:
                raise DuplicateObject(
                    f'constraint "{name}" for relation "{schema.name}" already exists'
                )
            seen.add(name)
        relations = {schema.pkey_name, *(u.name for u in self.uniques)}
        for index in self.indexes:  # indexes are relations: one name space with the keys'
            if index.name in relations:
                raise DuplicateTable(f'relation "{index.name}" already exists')
            relations.add(index.name)
            for col in index.columns:
                if col not in names:
                    raise UndefinedColumn(f'column "{col}" does not exist')

    def to_json(self) -> dict[str, Any]:
        return {
            "checks": [c.__dict__ for c in self.checks],
            "uniques": [
                {
                    "name": u.name,
                    "columns": list(u.columns),
                    **({"primary": True} if u.primary else {}),
                }
                for u in self.uniques
            ],
            "foreign_keys": [
                {**f.__dict__, "columns": list(f.columns), "ref_columns": list(f.ref_columns)}
                for f in self.foreign_keys
            ],
            "indexes": [i.to_json() for i in self.indexes],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Constraints:
        return cls(
            checks=tuple(Check(**c) for c in data.get("checks", ())),
            uniques=tuple(
                Unique(u["name"], tuple(u["columns"]), u.get("primary", False))
                for u in data.get("uniques", ())
            ),
            foreign_keys=tuple(
                ForeignKey(
                    f["name"],
                    tuple(f["columns"]),
                    f["table"],
                    tuple(f["ref_columns"]),
                    f.get("on_delete", "no action"),
                )
                for f in data.get("foreign_keys", ())
            ),
            indexes=tuple(Index.from_json(i) for i in data.get("indexes", ())),
        )


def default_name(table: str, columns: list[str] | tuple[str, ...], suffix: str) -> str:
    """Postgres's name for an unnamed constraint: table_col1_col2_suffix, within 63 bytes."""
    return object_name(table, "_".join(columns), suffix)


def object_name(name1: str, name2: str, label: str) -> str:
    """Postgres's makeObjectName: name1_name2_label, the longer of name1 and name2 cut first
    (a byte at a time, on character boundaries) until the whole fits in 63 bytes."""
    a, b = name1.encode(), name2.encode()
    room = 63 - len(label.encode()) - 1 - (1 if b else 0)
    while len(a) + len(b) > room:
        if len(a) > len(b):
            a = a[:-1]
        else:
            b = b[:-1]
    parts = [a.decode(errors="ignore"), *([b.decode(errors="ignore")] if b else []), label]
    return "_".join(parts)
