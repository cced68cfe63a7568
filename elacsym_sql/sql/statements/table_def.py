"""A CREATE TABLE's column definitions and constraints as a namespace Schema.

What ORMs and tools emit: SERIAL types and identity columns (each with its sequence, made
by ddl.py), DEFAULT, NOT NULL, CHECK, UNIQUE, FOREIGN KEY, and a primary key of one column,
of several, or none (a hidden storage key then: schema.ROWID or schema.COMPOSITE_KEY).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlglot import exp

from ...constraints import Check, Constraints, ForeignKey, Unique, default_name
from ...engine import SequenceSpec
from ...errors import (
    InvalidForeignKey,
    InvalidTableDefinition,
    NotSupportedError,
    UndefinedTable,
)
from ...schema import COMPOSITE_KEY, HIDDEN_KEYS, KEY_TYPES, ROWID, Column, Schema, sql_name

DIALECT = "duckdb"
_SERIALS = {"SMALLSERIAL": "SMALLINT", "SERIAL": "INTEGER", "BIGSERIAL": "BIGINT",
            "SERIAL2": "SMALLINT", "SERIAL4": "INTEGER", "SERIAL8": "BIGINT"}  # fmt: skip

# The schema of a namespace by name, or None (to resolve FOREIGN KEY references).
Lookup = Callable[[str], Schema | None]


@dataclass
class TableDef:
    """What CREATE TABLE declares, gathered item by item."""

    name: str  # the namespace's: "<pg_schema>.<table>" outside public
    pg_schema: str = "public"
    columns: list[Column] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    key_name: str | None = None
    checks: list[Check] = field(default_factory=list)
    uniques: list[Unique] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    sequences: dict[str, SequenceSpec] = field(default_factory=dict)  # owned, by name

    @property
    def relname(self) -> str:
        """The table's name in its schema: what Postgres names its constraints after."""
        return self.name if self.pg_schema == "public" else self.name[len(self.pg_schema) + 1 :]


def serial_type(dt: exp.DataType) -> str | None:
    """The integer type of SERIAL, BIGSERIAL, SMALLSERIAL (any spelling), else None."""
    text = dt.sql(DIALECT).upper()
    return _SERIALS.get(text)


def sequence_name(table: str, column: str, pg_schema: str = "public") -> str:
    """Postgres's name for the sequence of a SERIAL or identity column of `table` (its name
    in `pg_schema`); outside public, the sequence's name is qualified as the table's."""
    name = default_name(table, [column], "seq")
    return name if pg_schema == "public" else f"{pg_schema}.{name}"


def nextval_default(seq: str, pg_schema: str = "public") -> str:
    """The column default of a SERIAL column, as Postgres shows it."""
    shown = sql_name(seq)
    if pg_schema != "public":
        shown = f"{sql_name(pg_schema)}.{sql_name(seq[len(pg_schema) + 1 :])}"
    literal = shown.replace("'", "''")
    return f"nextval('{literal}'::regclass)"


def build_schema(table: TableDef, options: object) -> Schema:
    """The namespace schema: the key decides whether a hidden storage key is added."""
    columns = list(table.columns)
    names = [c.name for c in columns]
    for key in table.keys:
        if key not in names:
            raise InvalidTableDefinition(f'column "{key}" named in key does not exist')
    if len(set(table.keys)) != len(table.keys):
        raise InvalidTableDefinition("a column appears twice in the primary key")
    foreign_keys = [
        replace(fk, ref_columns=tuple(check_reference(fk.table, list(fk.ref_columns), table.keys)))
        if fk.table == table.name
        else fk
        for fk in table.foreign_keys
    ]
    key_types = [next(c.type for c in columns if c.name == k) for k in table.keys]
    if len(table.keys) == 1 and key_types[0] in KEY_TYPES:
        primary_key, key_columns = table.keys[0], None
    else:
        primary_key = COMPOSITE_KEY if table.keys else ROWID
        columns.append(Column(primary_key, HIDDEN_KEYS[primary_key], True, hidden=True))
        key_columns = tuple(table.keys)
    return Schema(
        table.name,
        tuple(columns),
        primary_key,
        options,  # type: ignore[arg-type]
        key_columns=key_columns,
        constraints=Constraints(tuple(table.checks), tuple(table.uniques), tuple(foreign_keys)),
        pg_schema=table.pg_schema,
        key_name=table.key_name,
    )


def add_column_constraint(
    table: TableDef, col: str, cons: exp.ColumnConstraint, lookup: Lookup
) -> dict[str, object]:
    """Record one column constraint; returns Column fields it sets (not_null, default, ...)."""
    kind = cons.kind
    given = cons.this.name if isinstance(cons.this, exp.Identifier) else None
    if isinstance(kind, exp.PrimaryKeyColumnConstraint):
        _one_key(table)
        table.keys.append(col)
        table.key_name = given or table.key_name
        return {}
    if isinstance(kind, exp.NotNullColumnConstraint):
        return {} if kind.args.get("allow_null") else {"not_null": True}
    if isinstance(kind, exp.DefaultColumnConstraint):
        return {"default": kind.this.sql(DIALECT)}
    if isinstance(kind, exp.CheckColumnConstraint):
        name = given or default_name(table.relname, [col], "check")
        table.checks.append(Check(name, kind.this.sql(DIALECT)))
        return {}
    if isinstance(kind, exp.UniqueColumnConstraint):
        table.uniques.append(Unique(given or default_name(table.relname, [col], "key"), (col,)))
        return {}
    if isinstance(kind, exp.Reference):
        add_foreign_key(table, given, [col], kind, lookup)
        return {}
    if isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
        return {"identity": "always" if kind.this else "by default", "not_null": True}
    raise NotSupportedError(f"column constraint {cons.sql(DIALECT)} is not supported")


def _one_key(table: TableDef) -> None:
    if table.keys:
        raise InvalidTableDefinition(
            f'multiple primary keys for table "{table.name}" are not allowed'
        )


def identity_spec(cons: exp.GeneratedAsIdentityColumnConstraint, type_: str) -> SequenceSpec:
    """The sequence options of `GENERATED ... AS IDENTITY (START WITH ... )`."""

    def number(arg: str) -> int | None:
        value = cons.args.get(arg)
        return None if value is None else int(value.sql(DIALECT))

    return SequenceSpec(
        start=number("start"),
        increment=number("increment") or 1,
        minvalue=number("minvalue"),
        maxvalue=number("maxvalue"),
        type=type_,
    )


def add_table_constraint(
    table: TableDef, item: exp.Expression, given: str | None, lookup: Lookup, ident: Callable
) -> None:
    """Record a table constraint (PRIMARY KEY, UNIQUE, CHECK, FOREIGN KEY (...))."""
    if isinstance(item, exp.PrimaryKey):
        _one_key(table)
        table.keys.extend(ident(e) for e in item.expressions)
        table.key_name = given or table.key_name
    elif isinstance(item, exp.UniqueColumnConstraint) and isinstance(item.this, exp.Schema):
        cols = tuple(ident(e) for e in item.this.expressions)
        table.uniques.append(Unique(given or default_name(table.relname, cols, "key"), cols))
    elif isinstance(item, exp.CheckColumnConstraint):
        cols = sorted({c.name for c in item.this.find_all(exp.Column)})[:1]
        name = given or default_name(table.relname, cols, "check")
        table.checks.append(Check(name, item.this.sql(DIALECT)))
    elif isinstance(item, exp.ForeignKey):
        cols = [ident(e) for e in item.expressions]
        add_foreign_key(table, given, cols, item.args["reference"], lookup)
    else:
        raise NotSupportedError(f"table constraint {item.sql(DIALECT)} is not supported")


def add_foreign_key(
    table: TableDef, given: str | None, cols: list[str], ref: exp.Reference, lookup: Lookup
) -> None:
    target = ref.this
    ref_table = target.this if isinstance(target, exp.Schema) else target
    ref_name = ref_table.name if ref_table.this.quoted else ref_table.name.lower()
    ref_cols = [
        e.name if e.quoted else e.name.lower()
        for e in (target.expressions if isinstance(target, exp.Schema) else [])
    ]
    on_delete = "no action"
    for option in ref.args.get("options") or []:
        text = str(option).lower()
        if text.startswith("on delete "):
            on_delete = text[len("on delete ") :].strip()
        elif text.startswith("on update ") and text[len("on update ") :].strip() not in (
            "no action",
            "restrict",
            "cascade",  # keys cannot be updated: nothing to do
        ):
            raise NotSupportedError(f"{option} is not supported")
    if ref_name != table.name:  # a reference to the table itself is checked at the end
        schema = lookup(ref_name)
        if schema is None:
            raise UndefinedTable(f'relation "{ref_name}" does not exist')
        ref_cols = check_reference(ref_name, ref_cols, list(schema.declared_key))
    name = given or default_name(table.relname, cols, "fkey")
    table.foreign_keys.append(ForeignKey(name, tuple(cols), ref_name, tuple(ref_cols), on_delete))


def check_reference(ref_name: str, ref_cols: list[str], ref_key: list[str]) -> list[str]:
    """The referenced columns (the key when none are named); they must be its primary key."""
    ref_cols = ref_cols or ref_key
    if sorted(ref_cols) != sorted(ref_key) or not ref_key:
        raise InvalidForeignKey(
            f'there is no unique constraint matching given keys for referenced table "{ref_name}"',
            hint="foreign keys here reference the primary key",
        )
    return ref_cols
