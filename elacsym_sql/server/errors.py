"""Exceptions to ErrorResponse messages: severity, SQLSTATE, message, detail, hint."""

from __future__ import annotations

import logging

import duckdb

from ..errors import ElacsymError
from ..sql.errors import translate
from . import protocol as p
from .params import ParameterError

log = logging.getLogger("elacsym.server")


def as_elacsym(exc: BaseException) -> ElacsymError:
    """Our error for anything a statement raised; unexpected ones are internal (XX000)."""
    if isinstance(exc, ElacsymError):
        return exc
    if isinstance(exc, duckdb.Error):
        return translate(exc)
    if isinstance(exc, ParameterError):
        err = ElacsymError(str(exc))
        err.sqlstate = "22P02"
        return err
    if isinstance(exc, p.ProtocolViolation):
        err = ElacsymError(str(exc))
        err.sqlstate = "08P01"
        return err
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
    return p.notice_or_error(b"E", fields)


def fatal(sqlstate: str, message: str) -> bytes:
    return p.notice_or_error(
        b"E", [(b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message)]
    )
