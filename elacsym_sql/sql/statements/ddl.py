"""CREATE TABLE and DROP TABLE on namespaces (table_def.py reads the column definitions)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from sqlglot import exp

from ...engine import Engine, SequenceSpec, check_full_text_options, rowid_sequence
from ...errors import (
    DependentObjectsStillExist,
    DuplicateTable,
    InvalidName,
    InvalidParameterValue,
    InvalidSchemaName,
    InvalidTableDefinition,
    NotSupportedError,
    UndefinedObject,
    UndefinedTable,
)
from ...interrupts import check_interrupt
from ...schema import (
    INTEGER_KEY_TYPES,
    MAX_DECIMAL_PRECISION,
    TYPES_HINT,
    Column,
    Options,
    Schema,
    check_name,
    check_type,
)
from ..pg_catalog.pg_schemas import split_name
from ..pg_catalog.pg_types import UNCONSTRAINED_NUMERIC
from .char_types import declared_char_types
from .float_types import declared_doubles
from .table_def import (
    Lookup,
    TableDef,
    add_column_constraint,
    add_table_constraint,
    build_schema,
    identity_spec,
    nextval_default,
    sequence_name,
    serial_type,
)

DType = exp.DataType.Type
MAX_CHAR_LENGTH = 10_485_760  # Postgres's limit on n in VARCHAR(n) and CHAR(n)
EnumLookup = Callable[[str], str | None]  # a type's name -> its enum type, or None

_SCALARS: dict[DType, str] = {
    DType.BOOLEAN: "BOOLEAN",
    DType.SMALLINT: "SMALLINT",
    DType.TINYINT: "SMALLINT",
    DType.BIGINT: "BIGINT",
    DType.INT: "INTEGER",
    DType.SMALLINT: "SMALLINT",
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
    if dt.this == DType.VECTOR:  # pgvector's vector(d) in CREATE TABLE (pgvector_sql.py)
        dims = dt.expressions
        if len(dims) != 1 or not dims[0].this.is_int:
            raise NotSupportedError("type vector needs its dimension: vector(d)")
        return check_type(f"FLOAT[{dims[0].this.name}]")
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


def schema_from_create(
    tree: exp.Create,
    lookup: Lookup,
    enums: EnumLookup | None = None,
    pg_schemas: frozenset[str] = frozenset(),
    text: str = "",
) -> tuple[Schema, TableDef]:
    """The namespace a CREATE TABLE declares, and the sequences its columns own; `text`
    is the statement's (the character types' lengths are read from it: char_types.py)."""
    target = tree.this
    if not isinstance(target, exp.Schema) or tree.expression is not None:
        raise NotSupportedError(
            "CREATE TABLE ... AS is not supported for namespaces",
            hint="CREATE TABLE with columns, then INSERT INTO ... SELECT; "
            "or CREATE TEMP TABLE for a DuckDB table",
        )
    name = created_name(tree)
    table = TableDef(name, split_name(name, pg_schemas)[0])
    chars, doubles = declared_char_types(text), declared_doubles(text)
    for item in target.expressions:
        if isinstance(item, exp.ColumnDef):
            column = _column(table, item, lookup, enums)
            if column.type == "VARCHAR" and column.name in chars:
                column = _with_char_type(column, *chars[column.name])
            if column.type == "FLOAT" and column.name in doubles:
                column = replace(column, type="DOUBLE")  # Postgres's float: decision 0073
            table.columns.append(column)
            continue
        given = None
        if isinstance(item, exp.Constraint):
            given = item.this.name
            [item] = item.expressions
        add_table_constraint(table, item, given, lookup, lambda e: identifier(e, "column"))
    return build_schema(table, Options.parse(_options(tree))), table


def creates_namespace(tree: exp.Create, kind: str = "TABLE") -> bool:
    """Whether CREATE makes one of ours (a namespace, a sequence): not TEMP ones."""
    if (tree.args.get("kind") or "").upper() != kind:
        return False
    props = tree.args.get("properties")
    temporary = props is not None and any(
        isinstance(p, exp.TemporaryProperty) for p in props.expressions
    )
    return not temporary


def created_name(tree: exp.Create) -> str:
    """The namespace a CREATE TABLE names (a schema's table is "s.t" by now: 0033)."""
    target = tree.this
    written = target.this if isinstance(target, exp.Schema) else target
    if written.args.get("catalog") or (written.db and written.db.lower() not in ("main", "public")):
        raise InvalidSchemaName(f'schema "{written.db}" does not exist')
    return identifier(written.this, "namespace")


def _column(
    table: TableDef, item: exp.ColumnDef, lookup: Lookup, enums: EnumLookup | None
) -> Column:
    name = identifier(item.this, "column")
    kind_type = item.args.get("kind")
    if kind_type is None:
        raise InvalidTableDefinition(f'column "{name}" has no type')
    serial = serial_type(kind_type)
    type_ = serial or canonical_type(kind_type, enums)
    fields: dict[str, Any] = {"pgvector": True} if kind_type.this == DType.VECTOR else {}
    for cons in item.constraints:
        fields |= add_column_constraint(table, name, cons, lookup)
        if isinstance(cons.kind, exp.GeneratedAsIdentityColumnConstraint):
            if type_ not in INTEGER_KEY_TYPES:
                raise InvalidTableDefinition(
                    f'identity column type must be smallint, integer, or bigint, not "{type_}"'
                )
            seq = sequence_name(table.relname, name, table.pg_schema)
            table.sequences[seq] = identity_spec(cons.kind, type_)
    if serial is not None or fields.get("identity"):
        if "default" in fields:
            raise InvalidTableDefinition(
                f'multiple default values specified for column "{name}" of table "{table.name}"'
            )
        seq = sequence_name(table.relname, name, table.pg_schema)
        table.sequences.setdefault(seq, SequenceSpec(type=type_))
        fields |= {"default": nextval_default(seq, table.pg_schema), "not_null": True}
    return Column(name, type_, **fields)


def _with_char_type(column: Column, kind: str, length: int | None) -> Column:
    """A text column declared VARCHAR(n) or CHAR(n), as Postgres limits their lengths."""
    if length is not None and not 1 <= length <= MAX_CHAR_LENGTH:
        named = "char" if kind == "bpchar" else kind
        raise InvalidParameterValue(
            f"length for type {named} must be at least 1"
            if length < 1
            else f"length for type {named} cannot exceed {MAX_CHAR_LENGTH}"
        )
    return replace(column, char_kind=kind, length=length)


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


def execute_create(
    engine: Engine,
    tree: exp.Create,
    enums: EnumLookup | None = None,
    check: Callable[[Schema], None] | None = None,
    pg_schemas: frozenset[str] = frozenset(),
    text: str = "",
) -> str:
    """Create a namespace and the sequences of its SERIAL and identity columns; `check`
    tries its defaults and CHECK expressions in DuckDB first. Returns its name."""
    schema, table = schema_from_create(
        tree, lambda name: _schema_of(engine, name), enums, pg_schemas, text
    )
    check_full_text_options(schema.options)  # options the full-text index cannot honour are refused
    if check is not None:
        check(schema)
    if engine.namespace(schema.name).exists():
        if tree.args.get("exists"):
            return schema.name
        raise DuplicateTable(f'relation "{schema.name}" already exists')
    _check_case_unique(engine, schema.name)
    for seq, spec in table.sequences.items():
        spec.check(seq)
    check_interrupt()  # the last point where a cancel leaves nothing behind
    for seq, spec in table.sequences.items():
        # A sequence left by a table dropped while a process held it: start over.
        engine.sequences.drop(seq, if_exists=True)
        engine.sequences.create(seq, spec)
    for fk in schema.constraints.foreign_keys:
        engine.references.add(fk.table, schema.name)  # before the table: never missed
    engine.create(schema, if_not_exists=bool(tree.args.get("exists")))
    return schema.name


def _check_case_unique(engine: Engine, name: str) -> None:
    """Two namespaces whose names differ only in case cannot both exist: DuckDB, where
    they are views, matches names without regard to case (quoted ones too)."""
    for other in engine.list_namespaces():
        if other.lower() == name.lower() and other != name:
            raise DuplicateTable(
                f'relation "{other}" already exists',
                hint=f'"{name}" differs from it only in case, which DuckDB does not tell apart',
            )


def _schema_of(engine: Engine, name: str) -> Schema | None:
    try:
        return engine.namespace(name).snapshot().schema
    except (UndefinedTable, InvalidName):
        return None


def owned_sequences(schema: Schema) -> list[str]:
    """The sequences a namespace's SERIAL and identity columns own (dropped with it)."""
    names = {
        c.name: sequence_name(schema.relname, c.name, schema.pg_schema) for c in schema.visible
    }
    return [
        names[c.name]
        for c in schema.visible
        if c.default == nextval_default(names[c.name], schema.pg_schema)
    ]


def check_drop(
    engine: Engine, names: list[str | None], tree: exp.Drop, gone: Iterable[str] = ()
) -> list[str]:
    """The namespaces a DROP TABLE drops, once it is sure it may drop them all: every name
    must be one (unless IF EXISTS; `gone`: names its transaction block dropped already)
    that no other table references."""
    if tree.args.get("cascade"):
        raise NotSupportedError("DROP ... CASCADE is not supported")
    gone = set(gone)
    present = [n for n in names if n and n not in gone and engine.namespace(n).exists()]
    if len(present) != len(names) and not tree.args.get("exists"):
        missing = next(n for n in names if n not in present)
        raise UndefinedTable(f'table "{missing}" does not exist')
    for name in present:
        _check_not_referenced(engine, name, set(present) | gone)
    return present


def execute_drop(
    engine: Engine,
    names: list[str | None],
    tree: exp.Drop,
    took_effect: Callable[[], None] = lambda: None,
) -> None:
    """Drop namespaces; every name must be one (unless IF EXISTS) before any is dropped.
    `took_effect` is called once the first is dropped: the statement cannot be undone."""
    if_exists = bool(tree.args.get("exists"))
    present = check_drop(engine, names, tree)
    schemas = {n: s for n in present if (s := _schema_of(engine, n)) is not None}
    check_interrupt()  # the last point where a cancel leaves nothing behind
    for name in present:
        incarnation = engine.namespace(name).snapshot().manifest.incarnation
        engine.drop(name, if_exists=if_exists)
        took_effect()
        schema = schemas.get(name)
        for seq in owned_sequences(schema) if schema is not None else []:
            engine.sequences.drop(seq, if_exists=True)
        engine.sequences.drop(rowid_sequence(name, incarnation), if_exists=True)
        for fk in schema.constraints.foreign_keys if schema is not None else ():
            engine.references.remove(fk.table, name)


def _check_not_referenced(engine: Engine, name: str, dropped: set[str]) -> None:
    """DROP TABLE of a table another one references is refused (no CASCADE), as Postgres
    does."""
    for child in engine.references.referrers(name):
        schema = _schema_of(engine, child) if child not in dropped else None
        for fk in schema.constraints.foreign_keys if schema is not None else ():
            if fk.table == name:
                raise DependentObjectsStillExist(
                    f"cannot drop table {name} because other objects depend on it",
                    detail=f"constraint {fk.name} on table {child} depends on table {name}",
                    hint="Use DROP ... CASCADE to drop the dependent objects too.",
                )
