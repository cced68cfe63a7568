"""Exceptions to ErrorResponse messages: severity, SQLSTATE, message, detail, hint, position."""

from __future__ import annotations

import logging

import duckdb
from sqlglot.errors import SqlglotError

from ..errors import ElacsymError
from ..sql.errors import translate
from ..sql.parse import syntax_error
from . import protocol as p

log = logging.getLogger("elacsym.server")


def as_elacsym(exc: BaseException) -> ElacsymError:
    """Our error for anything a statement raised; unexpected ones are internal (XX000)."""
    if isinstance(exc, ElacsymError):
        return exc
    if isinstance(exc, duckdb.Error):
        return translate(exc)
    if isinstance(exc, SqlglotError):
        return syntax_error(exc)
    log.exception("internal error", exc_info=exc)
    return ElacsymError(f"internal error: {type(exc).__name__}: {exc}")


def error_response(exc: BaseException, severity: str = "ERROR") -> bytes:
    err = as_elacsym(exc)
    fields: list[tuple[bytes, str]] = [
        (b"S", severity),
        (b"V", severity),
        (b"C", err.sqlstate),
        (b"M", err.message),
    ]
    if err.detail:
        fields.append((b"D", err.detail))
    if err.hint:
        fields.append((b"H", err.hint))
    if err.position is not None:
        fields.append((b"P", str(err.position)))
    return p.notice_or_error(b"E", fields)


def fatal(sqlstate: str, message: str) -> bytes:
    return p.notice_or_error(
        b"E", [(b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message)]
    )
