"""CREATE TABLE and DROP TABLE on namespaces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from ..engine import Engine
from ..errors import (
    InvalidName,
    InvalidParameterValue,
    InvalidTableDefinition,
    NotSupportedError,
    UndefinedObject,
    UndefinedTable,
)
from ..index.analyzer import check_options
from ..schema import (
    MAX_DECIMAL_PRECISION,
    TYPES_HINT,
    Column,
    Options,
    Schema,
    check_name,
)
from .pg_types import UNCONSTRAINED_NUMERIC

DType = exp.DataType.Type
EnumLookup = Callable[[str], str | None]  # a type's name -> its enum type, or None

_SCALARS: dict[DType, str] = {
    DType.BOOLEAN: "BOOLEAN",
    DType.SMALLINT: "SMALLINT",
    DType.TINYINT: "SMALLINT",
    DType.BIGINT: "BIGINT",
    DType.INT: "INTEGER",
    DType.DOUBLE: "DOUBLE",
    DType.FLOAT: "FLOAT",
    DType.TEXT: "VARCHAR",
    DType.VARCHAR: "VARCHAR",
    DType.TIMESTAMP: "TIMESTAMP",
    DType.TIMESTAMPNTZ: "TIMESTAMP",
    DType.TIMESTAMPTZ: "TIMESTAMPTZ",
    DType.DATE: "DATE",
    DType.TIME: "TIME",
    DType.INTERVAL: "INTERVAL",
    DType.VARBINARY: "BLOB",
    DType.BINARY: "BLOB",
    DType.UUID: "UUID",
    DType.JSON: "JSON",
    DType.JSONB: "JSONB",
}


def identifier(ident: exp.Expression, what: str) -> str:
    """A user's name as Postgres folds it (unquoted names are lower-cased), validated."""
    if isinstance(ident, exp.Ordered):
        ident = ident.this
    if isinstance(ident, exp.Column) and not ident.table:
        ident = ident.this
    if not isinstance(ident, exp.Identifier):
        raise InvalidName(f"invalid {what} name {ident.sql()!r}")
    return check_name(ident.name if ident.quoted else ident.name.lower(), what)


def canonical_type(dt: exp.DataType, enums: EnumLookup | None = None) -> str:
    """The canonical type (schema.py) of a declared column type; `enums` resolves the name
    of a user-defined type to its enum type."""
    if dt.this in (DType.ARRAY, DType.LIST) and dt.expressions:
        inner = dt.expressions[0]
        if not isinstance(inner, exp.DataType) or inner.this in (DType.ARRAY, DType.LIST):
            raise NotSupportedError(f"type {dt.sql('duckdb')} is not supported (nested lists)")
        base = canonical_type(inner, enums)
        values = dt.args.get("values") or []
        if values:
            return f"{base}[{values[0].name}]"
        return f"{base}[]"
    if dt.this == DType.DECIMAL:
        return _decimal_type(dt)
    if dt.this == DType.USERDEFINED:
        name = str(dt.args.get("kind") or "")
        found = enums(name) if enums is not None else None
        if found is None:
            raise UndefinedObject(f'type "{name}" does not exist')
        return found
    if dt.this not in _SCALARS:
        raise NotSupportedError(f"type {dt.sql('duckdb')} is not supported", hint=TYPES_HINT)
    return _SCALARS[dt.this]


def _decimal_type(dt: exp.DataType) -> str:
    """NUMERIC(p,s) exactly; NUMERIC(p) has scale 0; a bare NUMERIC (no fixed scale in
    DuckDB) is DECIMAL(38,12): decision 0030."""
    params = [int(p.name) for p in dt.expressions]
    if not params or _is_duckdb_default(dt):
        return UNCONSTRAINED_NUMERIC
    precision, scale = params[0], params[1] if len(params) > 1 else 0
    if not 1 <= precision <= MAX_DECIMAL_PRECISION:
        raise NotSupportedError(
            f"NUMERIC precision {precision} must be between 1 and {MAX_DECIMAL_PRECISION}"
        )
    if not 0 <= scale <= precision:
        raise InvalidParameterValue(
            f"NUMERIC scale {scale} must be between 0 and precision {precision}"
        )
    return f"DECIMAL({precision},{scale})"


def _is_duckdb_default(dt: exp.DataType) -> bool:
    """sqlglot's DuckDB parser writes DuckDB's default (18,3) into a bare DECIMAL/NUMERIC by
    parsing the text 'DECIMAL(18, 3)': its literals carry positions in that text (the 18
    at offset 8), which no literal of a CREATE/ALTER TABLE statement can have."""
    first = dt.expressions[0].this if dt.expressions else None
    return isinstance(first, exp.Literal) and first.meta.get("start") == 8 and first.name == "18"


def schema_from_create(tree: exp.Create, enums: EnumLookup | None = None) -> Schema:
    target = tree.this
    if not isinstance(target, exp.Schema) or tree.expression is not None:
        raise NotSupportedError(
            "CREATE TABLE ... AS is not supported for namespaces",
            hint="CREATE TABLE with columns, then INSERT INTO ... SELECT; "
            "or CREATE TEMP TABLE for a DuckDB table",
        )
    name = identifier(target.this.this, "namespace")
    columns: list[Column] = []
    keys: list[str] = []
    for item in target.expressions:
        if isinstance(item, exp.ColumnDef):
            col_name = identifier(item.this, "column")
            not_null = False
            for constraint in item.constraints:
                kind = constraint.kind
                if isinstance(kind, exp.PrimaryKeyColumnConstraint):
                    keys.append(col_name)
                elif isinstance(kind, exp.NotNullColumnConstraint) and not kind.args.get(
                    "allow_null"
                ):
                    not_null = True
                else:
                    raise NotSupportedError(
                        f"column constraint {constraint.sql('duckdb')} is not supported"
                    )
            kind_type = item.args.get("kind")
            if kind_type is None:
                raise InvalidTableDefinition(f'column "{col_name}" has no type')
            columns.append(Column(col_name, canonical_type(kind_type, enums), not_null))
        elif isinstance(item, exp.PrimaryKey):
            keys.extend(identifier(e, "column") for e in item.expressions)
        else:
            raise NotSupportedError(f"table element {item.sql('duckdb')} is not supported")
    if len(keys) != 1:
        raise InvalidTableDefinition(
            "a namespace needs exactly one PRIMARY KEY column"
            + (f", got {len(keys)}" if keys else ""),
            hint="e.g. id BIGINT PRIMARY KEY",
        )
    return Schema(name, tuple(columns), keys[0], Options.parse(_options(tree)))


def _options(tree: exp.Create) -> dict[str, Any]:
    props = tree.args.get("properties")
    out: dict[str, Any] = {}
    for prop in props.expressions if props else []:
        if isinstance(prop, exp.LanguageProperty):  # sqlglot reads `language = x` specially
            out["language"] = prop.name
            continue
        if type(prop) is not exp.Property:
            raise NotSupportedError(f"table property {prop.sql('duckdb')} is not supported")
        key = prop.name.lower()
        out[key] = _option_value(key, prop.args.get("value"))
    return out


def _option_value(key: str, value: exp.Expression | None) -> Any:
    if isinstance(value, exp.Boolean):
        return value.this
    if isinstance(value, exp.Literal):
        return value.this if value.is_string else float(value.this)
    if isinstance(value, exp.Neg) and isinstance(value.this, exp.Literal):
        return -float(value.this.this)
    if isinstance(value, exp.Var | exp.Identifier | exp.Column):
        return value.name
    raise InvalidParameterValue(f"option {key} needs a literal value")


def execute_create(engine: Engine, tree: exp.Create, enums: EnumLookup | None = None) -> None:
    schema = schema_from_create(tree, enums)
    check_options(schema.options)  # options the full-text index cannot honour are refused
    engine.create(schema, if_not_exists=bool(tree.args.get("exists")))


def execute_drop(engine: Engine, names: list[str | None], tree: exp.Drop) -> None:
    """Drop namespaces; every name must be one (unless IF EXISTS) before any is dropped."""
    if tree.args.get("cascade"):
        raise NotSupportedError("DROP ... CASCADE is not supported")
    if_exists = bool(tree.args.get("exists"))
    present = [n for n in names if n and engine.namespace(n).exists()]
    if len(present) != len(names) and not if_exists:
        missing = next(n for n in names if n not in present)
        raise UndefinedTable(f'table "{missing}" does not exist')
    for name in present:
        engine.drop(name, if_exists=if_exists)
