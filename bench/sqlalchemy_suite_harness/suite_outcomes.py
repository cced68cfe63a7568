"""A pytest plugin writing each test phase's outcome as one JSON line to $SA_SUITE_REPORT
as it happens, so a run that is stopped midway still leaves what it did. The last line,
{"finished": true, "exitstatus": N}, is written only when the session ends."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

_PATH = os.environ.get("SA_SUITE_REPORT")


def _write(record: dict[str, Any]) -> None:
    if _PATH:
        with open(_PATH, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


def _message(report: pytest.TestReport) -> str:
    """The one-line cause: the exception as pytest prints it under the traceback."""
    if report.passed:
        return ""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (file, line, reason)
        return str(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    lines = [line for line in str(longrepr).splitlines() if line.strip()]
    return lines[-1] if lines else ""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _write(
        {
            "test": report.nodeid,
            "when": report.when,
            "outcome": report.outcome,
            "message": _message(report)[:2000],
        }
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _write({"finished": True, "exitstatus": int(exitstatus)})
