"""The server's log: one line per connection, authentication failure, error and slow
statement, as text or JSON lines, through Python's logging (logger `elacsym.server`).

Each line is an event with fields (`event(...)`); the formatter decides how it reads.
Client SQL is logged only at DEBUG: statements can hold data a log reader should not see.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

log = logging.getLogger("elacsym.server")


def event(level: int, name: str, message: str, **fields: Any) -> None:
    """Log one event; `fields` are its key/value pairs (None values are left out)."""
    if log.isEnabledFor(level):
        kept = {k: v for k, v in fields.items() if v is not None}
        log.log(level, message, extra={"event": name, "fields": kept})


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return getattr(record, "fields", {})


class TextFormatter(logging.Formatter):
    """`2026-12-06 23:50:01.123 UTC INFO connection: closed pid=1000 user=alice ...`"""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record.created))
        name = getattr(record, "event", record.name)
        pairs = " ".join(f"{k}={_text(v)}" for k, v in _fields(record).items())
        line = f"{stamp}.{int(record.msecs):03d} UTC {record.levelname} {name}: "
        line += record.getMessage() + (f" {pairs}" if pairs else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _text(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if not text or any(c in text for c in ' "=\n') else text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, event, message and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = _json_fields(record.created, record.levelname, getattr(record, "event", record.name))
        out["message"] = record.getMessage()
        out.update(_fields(record))
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def _json_fields(created: float, level: str, name: str) -> dict[str, Any]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return {"time": f"{stamp}.{int(created * 1000) % 1000:03d}Z", "level": level, "event": name}


def say(log_format: str, name: str, message: str, *, trouble: bool = False, **fields: Any) -> None:
    """A line of `serve` and its supervisor about the server itself (listening, shutting down,
    a worker restarted, a port taken): news on stdout (scripts wait for "listening on"),
    trouble on stderr. Plain text as it always read, or one JSON object with --log-format
    json, like every other log line, so a log collector parses them all."""
    stream = sys.stderr if trouble else sys.stdout
    if log_format == "json":
        out = _json_fields(time.time(), "WARNING" if trouble else "INFO", name)
        out["message"] = message
        out.update({k: v for k, v in fields.items() if v is not None})
        line = json.dumps(out, default=str)
    else:
        line = f"elacsym: {message}" if trouble else message
    print(line, file=stream, flush=True)


def configure(log_format: str, level: str = "info") -> None:
    """Send the process's log to stderr in `log_format` (text or json): elacsym's from
    `level` up, other libraries' from WARNING."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)  # other libraries: warnings and worse
    for name in ("elacsym", "elacsym_sql"):
        logging.getLogger(name).setLevel(level.upper())
