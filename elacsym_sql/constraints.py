"""Table constraints a namespace keeps in its schema: CHECK, UNIQUE and FOREIGN KEY.

NOT NULL, DEFAULT and the primary key live on the columns and the schema (schema.py). The
checks are enforced on write (engine/constraints.py for the rows of one statement, the SQL
layer for what needs other rows); docs/decisions/0026-constraints.md says what is checked
where. Names default as Postgres names them: `<table>_<column>_check`, `_key`, `_fkey`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import DuplicateObject, InvalidForeignKey, NotSupportedError, UndefinedColumn

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


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    table: str  # the referenced namespace
    ref_columns: tuple[str, ...]  # its primary key, in order
    on_delete: str = "no action"


@dataclass(frozen=True)
class Constraints:
    checks: tuple[Check, ...] = ()
    uniques: tuple[Unique, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in (*self.checks, *self.uniques, *self.foreign_keys)]

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
        seen: set[str] = {f"{schema.name}_pkey"}
        for name in self.names:
            if name in seen:
                raise DuplicateObject(
                    f'constraint "{name}" for relation "{schema.name}" already exists'
                )
            seen.add(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "checks": [c.__dict__ for c in self.checks],
            "uniques": [{**u.__dict__, "columns": list(u.columns)} for u in self.uniques],
            "foreign_keys": [
                {**f.__dict__, "columns": list(f.columns), "ref_columns": list(f.ref_columns)}
                for f in self.foreign_keys
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Constraints:
        return cls(
            checks=tuple(Check(**c) for c in data.get("checks", ())),
            uniques=tuple(Unique(u["name"], tuple(u["columns"])) for u in data.get("uniques", ())),
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
        )


def default_name(table: str, columns: list[str] | tuple[str, ...], suffix: str) -> str:
    """Postgres's name for an unnamed constraint: table_col1_col2_suffix, cut to 63."""
    base = "_".join([table, *columns])
    return f"{base[: 63 - len(suffix) - 1]}_{suffix}"
