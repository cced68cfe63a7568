"""Errors as the HTTP API answers them: `{"error": message, "code": SQLSTATE}` with the
status HTTP_API.md assigns to each kind of mistake."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from .. import errors as e

# First match in the exception's class hierarchy wins: specific classes before categories.
_STATUS: tuple[tuple[type[e.ElacsymError], int], ...] = (
    (e.DatatypeMismatch, 422),  # wrong shape or JSON kind (the field is named)
    (e.UndefinedColumn, 422),  # an undeclared attribute
    (e.UniqueViolation, 422),  # duplicate ids in one request
    (e.NotNullViolation, 422),
    (e.UndefinedTable, 404),
    (e.DuplicateTable, 409),
    (e.DependentObjectsStillExist, 409),
    (e.ProgramLimitExceeded, 413),
    (e.StorageError, 503),
    (e.SerializationFailure, 503),
    (e.InternalError, 500),
    (e.OperationalError, 503),
    (e.DataError, 400),  # bad values: vector length, NaN, malformed JSON, k out of range
    (e.NotSupportedError, 400),
    (e.ProgrammingError, 400),
)


def status_of(error: e.ElacsymError) -> int:
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 500


def error_response(error: e.ElacsymError, status: int | None = None) -> Response:
    body: dict[str, str] = {"error": error.message, "code": error.sqlstate}
    if error.detail:
        body["detail"] = error.detail
    if error.hint:
        body["hint"] = error.hint
    return Response(orjson.dumps(body), status or status_of(error), media_type="application/json")
