"""A session's log lines: one when it ends, and one per message slower than
log_min_duration_statement (its SQL only at DEBUG level, decision 0024)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ..sql.session.setting_values import milliseconds
from .logs import event

if TYPE_CHECKING:
    from .session import Session

_MESSAGES = {b"Q": "query", b"P": "parse", b"B": "bind", b"D": "describe", b"E": "execute"}


def closed(s: Session) -> None:
    """The session's one line: who, from where, for how long, and how it ended."""
    application = s.state.settings.values.get("application_name") or None
    seconds = round(time.monotonic() - s.opened, 3)
    event(logging.INFO, "connection", "closed", pid=s.pid, address=s.address,
          user=s.user or None, application=application, seconds=seconds,
          ended=s.ended)  # fmt: skip


def duration(s: Session, kind: bytes) -> None:
    """log_min_duration_statement: the message's time; its SQL at DEBUG only."""
    least = milliseconds(s.state.settings.values["log_min_duration_statement"])
    took = s.clock.elapsed_ms()
    if least < 0 or took < least:
        return
    what = _MESSAGES[kind]
    event(logging.INFO, "duration", f"{what} took {took:.1f} ms", pid=s.pid,
          duration_ms=round(took, 3))  # fmt: skip
    sql = s.sql if kind == b"Q" else s.extended.query
    event(logging.DEBUG, "statement", f"{what}: {sql}", pid=s.pid)
