"""CREATE TYPE ... AS ENUM and DROP TYPE: enum types, durable on the object store.

A type is kept by catalog/types.py and shown to DuckDB as its own enum type (so
`'ok'::mood` and columns of DuckDB tables work); namespace columns of it have the type
`ENUM('sad', 'ok')` (schema.py), which the wire reports as the type's OID and the catalog
by its name. sqlglot reads neither statement, so they are read from its tokens here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import sqlglot
from sqlglot.tokens import Token, TokenType

from ...engine import EnumType, TypeStore
from ...errors import (
    DependentObjectsStillExist,
    InvalidParameterValue,
    NotSupportedError,
    SyntaxError,
    UndefinedObject,
)
from ...schema import check_name, enum_type
from ..dialect.pg_rewrite import SHIM
from ..parse import DIALECT
from ..views import quote
from . import pg_types

MAX_LABEL_BYTES = 63  # Postgres's NAMEDATALEN - 1


@dataclass(frozen=True)
class TypeStatement:
    action: str  # "create" or "drop"
    names: tuple[str, ...]
    labels: tuple[str, ...] = ()
    if_exists: bool = False


def parse_type_statement(text: str) -> TypeStatement | None:
    """CREATE TYPE name AS ENUM ('a', ...) or DROP TYPE [IF EXISTS] a, b; None otherwise."""
    head = text.lstrip()[:12].upper()
    if not (head.startswith("CREATE") or head.startswith("DROP")):
        return None
    tokens = sqlglot.tokenize(text, read=DIALECT)
    words = [t.text.upper() for t in tokens]
    if words[:2] == ["DROP", "TYPE"]:
        return _drop(tokens, words)
    if words[:2] != ["CREATE", "TYPE"]:
        return None
    if len(tokens) < 7 or words[3:5] != ["AS", "ENUM"] or tokens[5].token_type != TokenType.L_PAREN:
        raise NotSupportedError(
            "only CREATE TYPE name AS ENUM (...) is supported", hint="enum types"
        )
    labels: list[str] = []
    for tok in tokens[6:]:
        if tok.token_type == TokenType.STRING:
            labels.append(_label(tok.text))
        elif tok.token_type == TokenType.R_PAREN:
            break
        elif tok.token_type != TokenType.COMMA:
            raise SyntaxError(f'syntax error at or near "{tok.text}"')
    return TypeStatement("create", (_name(tokens[2]),), tuple(labels))


def _drop(tokens: list[Token], words: list[str]) -> TypeStatement:
    rest = tokens[2:]
    if_exists = words[2:4] == ["IF", "EXISTS"]
    if if_exists:
        rest = rest[2:]
    if rest and rest[-1].text.upper() in ("CASCADE", "RESTRICT"):
        if rest[-1].text.upper() == "CASCADE":
            raise NotSupportedError("DROP TYPE ... CASCADE is not supported")
        rest = rest[:-1]
    names = tuple(_name(t) for t in rest if t.token_type != TokenType.COMMA)
    if not names:
        raise SyntaxError("syntax error at end of input")
    return TypeStatement("drop", names, if_exists=if_exists)


def _name(tok: Token) -> str:
    name = tok.text if tok.token_type == TokenType.IDENTIFIER else tok.text.lower()
    return check_name(name, "type")


def _label(text: str) -> str:
    if len(text.encode()) > MAX_LABEL_BYTES:
        raise InvalidParameterValue(
            f'invalid enum label "{text}"', detail="Labels must be 63 bytes or less."
        )
    return text


class EnumTypes:
    """The enum types of one storage root, as DuckDB, the wire and the catalog see them."""

    def __init__(
        self,
        types: TypeStore,
        duck: duckdb.DuckDBPyConnection,
        columns_of_type: Callable[[str], list[str]],
    ) -> None:
        self._types = types
        self._duck = duck.cursor()
        self._columns_of_type = columns_of_type  # a column type -> "ns.col" of its columns
        self._lock = threading.Lock()
        for enum in self._types.all():
            self._show(enum)

    def lookup(self, name: str) -> str | None:
        """The column type (schema.py) of enum `name`, read from storage if not known here
        (another process may have created it); None if there is no such type."""
        enum = self._types.get(name)
        if enum is None:
            return None
        self._show(enum)
        return enum_type(enum.labels)

    def execute(self, stmt: TypeStatement) -> str:
        """Run a CREATE/DROP TYPE; returns its command tag."""
        if stmt.action == "create":
            name, labels = stmt.names[0], stmt.labels
            if len(set(labels)) != len(labels):
                dup = next(x for x in labels if labels.count(x) > 1)
                raise InvalidParameterValue(f'enum label "{dup}" used more than once')
            enum = EnumType(name, labels)
            self._types.create(enum)
            self._show(enum)
            return "CREATE TYPE"
        for name in stmt.names:  # all must exist (unless IF EXISTS) and be unused first
            if self._types.get(name) is None:
                if not stmt.if_exists:
                    raise UndefinedObject(f'type "{name}" does not exist')
                continue
            users = self._columns_of_type(enum_type(self._types.get(name).labels))
            if users:
                raise DependentObjectsStillExist(
                    f"cannot drop type {name} because other objects depend on it",
                    detail="\n".join(f"column {u} depends on type {name}" for u in users),
                    hint="Use DROP ... CASCADE to drop the dependent objects too.",
                )
        for name in stmt.names:
            enum = self._types.get(name)
            if enum is not None:
                self._types.drop(name)
                self._hide(enum)
        return "DROP TYPE"

    def _show(self, enum: EnumType) -> None:
        duck_type = enum_type(enum.labels)
        oid = pg_types.register_enum(enum.name, duck_type)
        with self._lock:
            self._duck.execute(f"DROP TYPE IF EXISTS {quote(enum.name)}")
            self._duck.execute(f"CREATE TYPE {quote(enum.name)} AS {duck_type}")
            self._duck.execute(f"DELETE FROM {SHIM}.types WHERE oid = ?", [oid])
            self._duck.execute(
                f"INSERT INTO {SHIM}.types VALUES (?, ?, ?, 4, 'E', 0, 0, 'e')",
                [oid, enum.name, enum.name],
            )
            self._duck.execute(f"DELETE FROM {SHIM}.enum_labels WHERE enumtypid = ?", [oid])
            self._duck.executemany(
                f"INSERT INTO {SHIM}.enum_labels VALUES (?, ?, ?, ?)",
                [
                    [pg_types.enum_oid(f"{enum.name}.{i}"), oid, i + 1, label]
                    for i, label in enumerate(enum.labels)
                ],
            )

    def _hide(self, enum: EnumType) -> None:
        oid = pg_types.enum_oid(enum.name)
        pg_types.forget_enum(enum_type(enum.labels))
        with self._lock:
            self._duck.execute(f"DROP TYPE IF EXISTS {quote(enum.name)}")
            self._duck.execute(f"DELETE FROM {SHIM}.types WHERE oid = ?", [oid])
            self._duck.execute(f"DELETE FROM {SHIM}.enum_labels WHERE enumtypid = ?", [oid])
