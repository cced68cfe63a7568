"""CREATE TABLE and DROP TABLE on namespaces."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from ..engine import Engine
from ..errors import (
    InvalidName,
    InvalidParameterValue,
    InvalidTableDefinition,
    NotSupportedError,
    UndefinedTable,
)
from ..index.analyzer import check_options
from ..schema import Column, Options, Schema, check_name

DType = exp.DataType.Type

_SCALARS: dict[DType, str] = {
    DType.BOOLEAN: "BOOLEAN",
    DType.BIGINT: "BIGINT",
    DType.INT: "INTEGER",
    DType.DOUBLE: "DOUBLE",
    DType.FLOAT: "FLOAT",
    DType.TEXT: "VARCHAR",
    DType.VARCHAR: "VARCHAR",
    DType.TIMESTAMP: "TIMESTAMP",
    DType.TIMESTAMPNTZ: "TIMESTAMP",
    DType.DATE: "DATE",
    DType.UUID: "UUID",
    DType.JSON: "JSON",
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


def canonical_type(dt: exp.DataType) -> str:
    if dt.this in (DType.ARRAY, DType.LIST) and dt.expressions:
        inner = dt.expressions[0]
        if not isinstance(inner, exp.DataType) or inner.this in (DType.ARRAY, DType.LIST):
            raise NotSupportedError(f"type {dt.sql('duckdb')} is not supported (nested lists)")
        base = canonical_type(inner)
        values = dt.args.get("values") or []
        if values:
            return f"{base}[{values[0].name}]"
        return f"{base}[]"
    if dt.this not in _SCALARS:
        raise NotSupportedError(
            f"type {dt.sql('duckdb')} is not supported",
            hint="use BOOLEAN, BIGINT, INTEGER, DOUBLE, FLOAT, TEXT, TIMESTAMP, DATE, UUID, "
            "JSON, a list of one of them (TEXT[]), or FLOAT[d] for a vector",
        )
    return _SCALARS[dt.this]


def schema_from_create(tree: exp.Create) -> Schema:
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
            columns.append(Column(col_name, canonical_type(kind_type), not_null))
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


def execute_create(engine: Engine, tree: exp.Create) -> None:
    schema = schema_from_create(tree)
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
