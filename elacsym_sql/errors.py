"""Every error elacsym_sql raises, each with the Postgres SQLSTATE a client expects.

`ElacsymError` is the one root. The PEP 249 categories (ProgrammingError, DataError, ...)
sit between the root and the concrete classes, so DB-API code can catch either.
"""

from __future__ import annotations


class ElacsymError(Exception):
    """Root of every elacsym_sql error (PEP 249 `Error`)."""

    sqlstate = "XX000"
    # Where in the statement's text a syntax error is: 1-based, in characters (the P field
    # of Postgres's ErrorResponse). None when not known.
    position: int | None = None

    def __init__(self, message: str, *, detail: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (SQLSTATE {self.sqlstate})"


def shown(value: str, limit: int = 100) -> str:
    """A client's value quoted for an error message, cut short: never echo megabytes."""
    return '"' + (value if len(value) <= limit else value[:limit] + "...") + '"'


class Warning(Exception):
    """PEP 249 `Warning`; elacsym_sql does not raise it today."""


# PEP 249 categories.
class InterfaceError(ElacsymError):
    sqlstate = "08000"


class DatabaseError(ElacsymError):
    pass


class DataError(DatabaseError):
    sqlstate = "22000"


class OperationalError(DatabaseError):
    sqlstate = "58000"


class IntegrityError(DatabaseError):
    sqlstate = "23000"


class InternalError(DatabaseError):
    sqlstate = "XX000"


class ProgrammingError(DatabaseError):
    sqlstate = "42000"


class NotSupportedError(DatabaseError):
    sqlstate = "0A000"


# Concrete classes, by SQLSTATE.
class SyntaxError(ProgrammingError):
    sqlstate = "42601"


class UndefinedTable(ProgrammingError):
    sqlstate = "42P01"


class UndefinedColumn(ProgrammingError):
    sqlstate = "42703"


class UndefinedFunction(ProgrammingError):
    sqlstate = "42883"


class DuplicateObject(ProgrammingError):
    sqlstate = "42710"


class WrongObjectType(ProgrammingError):
    sqlstate = "42809"


class DependentObjectsStillExist(ProgrammingError):
    sqlstate = "2BP01"


class InvalidCursorName(ProgrammingError):
    sqlstate = "34000"


class ObjectNotInPrerequisiteState(OperationalError):
    sqlstate = "55000"


class DuplicateCursor(ProgrammingError):
    sqlstate = "42P03"


class DuplicateTable(ProgrammingError):
    sqlstate = "42P07"


class DuplicateColumn(ProgrammingError):
    sqlstate = "42701"


class DuplicateSchema(ProgrammingError):
    sqlstate = "42P06"


class InvalidSchemaName(ProgrammingError):
    sqlstate = "3F000"


class InvalidName(ProgrammingError):
    sqlstate = "42602"


class ReservedName(ProgrammingError):
    sqlstate = "42939"


class InvalidTableDefinition(ProgrammingError):
    sqlstate = "42P16"


class DatatypeMismatch(ProgrammingError):
    sqlstate = "42804"


class InsufficientPrivilege(ProgrammingError):
    sqlstate = "42501"


class InvalidTextRepresentation(DataError):
    sqlstate = "22P02"


class InvalidParameterValue(DataError):
    sqlstate = "22023"


class NumericValueOutOfRange(DataError):
    sqlstate = "22003"


class StringDataRightTruncation(DataError):
    """A value longer than its column's declared length (VARCHAR(n), CHAR(n))."""

    sqlstate = "22001"


class InvalidBinaryRepresentation(DataError):
    """A binary-format value whose bytes do not read as its type."""

    sqlstate = "22P03"


class CharacterNotInRepertoire(DataError):
    """Text that is not valid UTF-8."""

    sqlstate = "22021"


class InvalidVector(DataError):
    """Wrong length, NULL element, NaN or infinity in a vector."""

    sqlstate = "22000"


class NotNullViolation(IntegrityError):
    sqlstate = "23502"


class UniqueViolation(IntegrityError):
    sqlstate = "23505"


class CheckViolation(IntegrityError):
    sqlstate = "23514"


class ForeignKeyViolation(IntegrityError):
    sqlstate = "23503"


class InvalidForeignKey(ProgrammingError):
    sqlstate = "42830"


class GeneratedAlways(ProgrammingError):
    """A value given for a GENERATED ALWAYS identity column."""

    sqlstate = "428C9"


class SequenceLimitExceeded(DataError):
    sqlstate = "2200H"


class SerializationFailure(OperationalError):
    sqlstate = "40001"


class StatementCompletionUnknown(OperationalError):
    """A conditional write was sent, its answer lost, and reading it back failed too: the
    statement may or may not have taken effect. Read the data to find out."""

    sqlstate = "40003"


class OwnerUnavailable(OperationalError):
    """A write's namespace owner did not accept the forwarded write, and no other member
    took the namespace over within the heartbeat TTL; nothing was written: retry."""

    sqlstate = "57P03"


class ProtocolViolation(OperationalError):
    """A wire-protocol message that breaks the protocol's rules."""

    sqlstate = "08P01"


class FrameError(OperationalError):
    """The wire's byte stream cannot be read on (a bad length, an unknown type, a message
    over its limit): the session answers FATAL and closes, as Postgres does."""

    def __init__(self, sqlstate: str, message: str, unread: int = 0) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate  # 08P01, or 54000 for a message over its limit
        self.unread = unread  # bytes of a refused message's body still on their way


class AuthFailed(OperationalError):
    """Authentication failed (28P01), or the exchange broke the protocol (08P01)."""

    sqlstate = "28P01"

    def __init__(self, message: str, sqlstate: str = "28P01") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class ProgramLimitExceeded(OperationalError):
    """A message, array or other input beyond a size limit."""

    sqlstate = "54000"


class StorageError(OperationalError):
    sqlstate = "58030"


class ObjectNotFound(StorageError):
    """The key does not exist in the object store."""

    sqlstate = "58030"


class PreconditionFailed(StorageError):
    """A conditional write lost: the key exists (create) or changed (CAS)."""

    sqlstate = "40001"


class StorageUnavailable(StorageError):
    """The object store kept failing (resets, timeouts, 5xx, short bodies) until the
    operation's retry deadline passed; nothing was written that the caller relies on."""

    sqlstate = "58030"


class CorruptObject(InternalError):
    """An object in storage is truncated or does not decode: reported, never skipped."""

    sqlstate = "XX001"


class QueryCanceled(OperationalError):
    sqlstate = "57014"


class InFailedTransaction(OperationalError):
    """A statement in a transaction block that an earlier error aborted."""

    sqlstate = "25P02"


class NoActiveTransaction(OperationalError):
    sqlstate = "25P01"


class InvalidSavepoint(OperationalError):
    sqlstate = "3B001"


class ActiveSqlTransaction(OperationalError):
    """A statement that cannot run inside a transaction block (VACUUM)."""

    sqlstate = "25001"


class UndefinedObject(ProgrammingError):
    """An extension, index or other named object that does not exist."""

    sqlstate = "42704"


class InvalidSqlStatementName(ProgrammingError):
    """A prepared statement or portal the extended protocol names that does not exist."""

    sqlstate = "26000"


class DuplicatePreparedStatement(ProgrammingError):
    sqlstate = "42P05"


class RouteNotFound(ProgrammingError):
    """An HTTP path the API does not have."""

    sqlstate = "42704"


class MethodNotAllowed(NotSupportedError):
    """An HTTP method a path of the API does not take."""

    sqlstate = "0A000"


class BadCopyFormat(DataError):
    """COPY FROM data that does not read in the statement's format."""

    sqlstate = "22P04"


class InvalidCopyOption(SyntaxError):
    """A COPY option Postgres would refuse (42601)."""


class DivisionByZero(DataError):
    sqlstate = "22012"


class CantChangeRuntimeParam(OperationalError):
    """A server setting a session cannot change (max_connections, authentication_timeout)."""

    sqlstate = "55P02"


class OutOfMemory(OperationalError):
    """A statement needed more memory than the engine's memory limit allows."""

    sqlstate = "53200"
