"""DuckDB's exceptions mapped onto elacsym_sql's errors and Postgres SQLSTATEs."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import duckdb
import pyarrow as pa

from .. import errors as e

_PREFIX = re.compile(r"^[A-Za-z ]+ Error: ")
_COLUMN = ("Referenced column", "not found in FROM clause", "does not have a column",
           "Values list", "column with name")  # fmt: skip
_FUNCTION = ("No function matches", "Scalar Function with name", "Table Function with name",
             "Macro Function with name", "Could not choose a best candidate")  # fmt: skip


def _pick(exc: duckdb.Error, msg: str) -> type[e.ElacsymError]:
    if isinstance(exc, duckdb.CatalogException):
        if any(p in msg for p in _FUNCTION):
            return e.UndefinedFunction
        if "already exists" in msg:
            return e.DuplicateTable
        if any(p in msg for p in _COLUMN):
            return e.UndefinedColumn
        return e.UndefinedTable
    if isinstance(exc, duckdb.BinderException):
        if "name/value mismatch" in msg:
            return e.SyntaxError  # Postgres: INSERT has more expressions than target columns
        if any(p in msg for p in _FUNCTION):
            return e.UndefinedFunction
        if any(p in msg for p in _COLUMN):
            return e.UndefinedColumn
        return e.DatatypeMismatch
    if isinstance(exc, duckdb.InvalidInputException):  # error() in our catalog macros
        if re.search(r'Error: relation ".*" does not exist', msg):
            return e.UndefinedTable
        if re.search(r'Error: function ".*" does not exist', msg):
            return e.UndefinedFunction
    if isinstance(exc, duckdb.ConversionException) and "out of range" in msg:
        return e.NumericValueOutOfRange  # a number too wide for its column: Postgres's 22003
    if isinstance(exc, duckdb.InvalidInputException) and "configuration has been locked" in msg:
        return e.InsufficientPrivilege  # a database served to wire clients (sandbox.py)
    table: list[tuple[type[duckdb.Error], type[e.ElacsymError]]] = [
        (duckdb.PermissionException, e.InsufficientPrivilege),
        (duckdb.ParserException, e.SyntaxError),
        (duckdb.ConversionException, e.InvalidTextRepresentation),
        (duckdb.OutOfRangeException, e.NumericValueOutOfRange),
        (duckdb.ConstraintException, e.IntegrityError),
        (duckdb.NotImplementedException, e.NotSupportedError),
        (duckdb.InterruptException, e.QueryCanceled),
        (duckdb.OutOfMemoryException, e.OutOfMemory),
        (duckdb.IOException, e.StorageError),
        (duckdb.TransactionException, e.SerializationFailure),
        (duckdb.InvalidInputException, e.InvalidParameterValue),
    ]
    for duck_cls, ours in table:
        if isinstance(exc, duck_cls):
            return ours
    return e.InternalError


# An ElacsymError raised inside a Python UDF reaches us as DuckDB's InvalidInputException
# text; the marker carries its SQLSTATE, class and message through (a class: several share
# a SQLSTATE, and a mistake must raise the same class whichever path found it).
_UDF_MARK = re.compile(
    r"\[elacsym:([0-9A-Z]{5}):(\w+)\] (.*?)(?: \(SQLSTATE [0-9A-Z]{5}\))?$", re.S
)


def _classes(cls: type[e.ElacsymError]) -> list[type[e.ElacsymError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_classes(sub))
    return out


_BY_SQLSTATE = {c.sqlstate: c for c in reversed(_classes(e.ElacsymError))}
_BY_NAME = {c.__name__: c for c in _classes(e.ElacsymError)}


def error_class(sqlstate: str) -> type[e.ElacsymError]:
    """Our error class of a SQLSTATE (another member's error, say); InternalError when none
    has it."""
    return _BY_SQLSTATE.get(sqlstate, e.InternalError)


def guarded_udf(fn: Callable[..., pa.Array]) -> Callable[..., pa.Array]:
    """`fn` as a DuckDB UDF: its ElacsymErrors cross DuckDB marked so `translate` restores
    their class and SQLSTATE."""

    @functools.wraps(fn)  # DuckDB reads the parameter count from the signature
    def call(*args: pa.Array) -> pa.Array:
        try:
            return fn(*args)
        except e.ElacsymError as exc:
            mark = f"[elacsym:{exc.sqlstate}:{type(exc).__name__}]"
            raise RuntimeError(f"{mark} {exc.message}") from None

    return call


def translate(exc: duckdb.Error, dropping: str | None = None) -> e.ElacsymError:
    """Our error for a DuckDB exception, with the DuckDB text as message (Postgres's,
    for the arithmetic errors and missing relations Postgres clients test for).
    `dropping`: the kind of object a DROP statement names ("table", "view", ...)."""
    text = str(exc)
    marked = _UDF_MARK.search(text)
    if marked:
        state, name, message = marked.groups()
        cls = _BY_NAME.get(name)
        if cls is None or cls.sqlstate != state:
            cls = _BY_SQLSTATE.get(state, e.InternalError)
        return cls(message.strip())
    first, _, rest = text.partition("\n")
    message = _PREFIX.sub("", first)
    worded = (
        _arithmetic(exc, message)
        or _missing(exc, message, dropping)
        or _missing_column(exc, message, rest)
    )
    if worded is not None:
        return worded
    cls = _pick(exc, text)
    return cls(message, detail=rest.strip() or None)


_INTEGER_TYPES = {"INT16": "smallint", "INT32": "integer", "INT64": "bigint"}
_OVERFLOW = re.compile(r"Overflow in \w+ of (INT16|INT32|INT64)")
_DECIMAL = re.compile(r'Could not convert string "(.*)" to DECIMAL\((\d+),(\d+)\)')
_CONVERSION = re.compile(r"Could not convert string '([-+]?[0-9]+)' to (INT16|INT32|INT64)")


def _arithmetic(exc: duckdb.Error, message: str) -> e.ElacsymError | None:
    """Division by zero (22012) and integers out of range (22003), worded as Postgres."""
    if isinstance(exc, duckdb.InvalidInputException) and message.startswith("Division by zero"):
        return e.DivisionByZero("division by zero")
    overflow = _OVERFLOW.search(message)
    if isinstance(exc, duckdb.OutOfRangeException) and overflow:
        return e.NumericValueOutOfRange(f"{_INTEGER_TYPES[overflow.group(1)]} out of range")
    converted = _CONVERSION.search(message)
    if isinstance(exc, duckdb.ConversionException) and converted:
        value, kind = converted.groups()
        return e.NumericValueOutOfRange(
            f'value "{value}" is out of range for type {_INTEGER_TYPES[kind]}'
        )
    decimal = _DECIMAL.search(message)
    if isinstance(exc, duckdb.ConversionException) and decimal and _is_number(decimal[1]):
        precision, scale = int(decimal[2]), int(decimal[3])
        bound = f"10^{precision - scale}" if precision > scale else "1"
        return e.NumericValueOutOfRange(
            "numeric field overflow",
            detail=f"A field with precision {precision}, scale {scale} must round to an "
            f"absolute value less than {bound}.",
        )
    return None


def _is_number(text: str) -> bool:
    """Whether `text` is a finite number (too wide for its DECIMAL), not a typo."""
    try:
        return Decimal(text.strip()).is_finite()
    except InvalidOperation:
        return False


_MISSING = re.compile(r'(Table|View|Sequence|Index) with name "?(.+?)"? does not exist')


def _missing(exc: duckdb.Error, message: str, dropping: str | None) -> e.ElacsymError | None:
    """A relation DuckDB does not have, worded as Postgres: `relation "x" does not exist`,
    and `table "x" does not exist` (view, sequence, index) for what a DROP names."""
    found = _MISSING.match(message)
    if not isinstance(exc, duckdb.CatalogException) or found is None:
        return None
    name = found.group(2)
    kind = dropping or "relation"
    cls = e.UndefinedObject if kind == "index" else e.UndefinedTable
    return cls(f'{kind} "{name}" does not exist')


_COLUMN_MISSING = re.compile(r'Referenced column "(.+?)" not found in FROM clause')
_QUALIFIED_MISSING = re.compile(
    r'(?:Table|Values list) "(.+?)" does not have a column named "(.+?)"'
)
_CANDIDATES = re.compile(r"Candidate bindings: (.*)")


def _missing_column(exc: duckdb.Error, message: str, rest: str) -> e.ElacsymError | None:
    """A column no relation has, worded as Postgres (`column "x" does not exist`, with its
    hint when a column's name is close). DuckDB's LINE context is dropped: it quotes the
    statement as rewritten (search functions become internal macros), not as the client
    wrote it."""
    if not isinstance(exc, duckdb.BinderException):
        return None
    if found := _COLUMN_MISSING.match(message):
        table, name, shown_as = "", found.group(1), f'"{found.group(1)}"'
    elif found := _QUALIFIED_MISSING.match(message):
        table, name = found.groups()
        shown_as = f"{table}.{name}"
    else:
        return None
    listed = _CANDIDATES.search(rest)
    candidates = re.findall(r'"([^"]+)"', listed.group(1)) if listed else []
    bare = {c.rpartition(".")[2]: f"{table}.{c}" if table else c for c in candidates}
    close = difflib.get_close_matches(name, list(bare), n=1, cutoff=0.75)
    hint = f'Perhaps you meant to reference the column "{bare[close[0]]}".' if close else None
    return e.UndefinedColumn(f"column {shown_as} does not exist", hint=hint)
