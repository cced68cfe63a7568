"""Reading and comparing runs of SQLAlchemy's compliance suite: one outcome per test from
the phase records bench/sqlalchemy_suite_harness/suite_outcomes.py writes, failures grouped
into categories (exception type + normalized message), and the side-by-side table.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg.errors

OUTCOMES = ("passed", "failed", "error", "skipped")

# The collected class name carries the dialect and server version
# ("RowFetchTest_postgresql+psycopg_15_18"); drop it so two servers' tests line up.
_VERSION_SUFFIX = re.compile(r"_postgresql\+\w+(?:_\d+)+(?=::)")
# "sqlalchemy.exc.NotSupportedError: (psycopg.errors.FeatureNotSupported) type X ..."
_DBAPI_ERROR = re.compile(r"^[\w.]+: \((?:[\w.]+\.)?(\w+)\) (.*)$")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
CATEGORY_WIDTH = 110


@dataclass
class Test:
    outcome: str = "passed"
    message: str = ""


@dataclass
class Run:
    """One target's run: each test's outcome, whether the session ended, its wall time."""

    tests: dict[str, Test] = field(default_factory=dict)
    finished: bool = False
    seconds: float = 0.0

    def counts(self) -> Counter[str]:
        return Counter(t.outcome for t in self.tests.values())

    def passed(self) -> set[str]:
        return {name for name, t in self.tests.items() if t.outcome == "passed"}


def test_key(nodeid: str) -> str:
    return _VERSION_SUFFIX.sub("", nodeid)


def read_run(path: Path, seconds: float) -> Run:
    """One outcome per test: skipped if a phase skipped it, failed if its body failed, error
    if set-up or tear-down failed (pytest would count a failing tear-down after a passing
    body both as passed and as an error; here it is an error only), passed otherwise."""
    run = Run(seconds=seconds)
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        record = json.loads(line)
        if record.get("finished"):
            run.finished = True
            continue
        test = run.tests.setdefault(test_key(record["test"]), Test())
        if record["outcome"] == "skipped":
            test.outcome, test.message = "skipped", record["message"]
        elif record["outcome"] == "failed" and test.outcome == "passed":
            test.outcome = "failed" if record["when"] == "call" else "error"
            test.message = record["message"]
    return run


def category(message: str) -> str:
    """Exception type (with SQLSTATE when the server sent one) and the first line of its
    message with quoted names and numbers blanked, so one cause is one category."""
    first = message.strip().splitlines()[0] if message.strip() else "(no message)"
    if match := _DBAPI_ERROR.match(first):
        kind, text = match.groups()
        error_class = getattr(psycopg.errors, kind, None)
        sqlstate = getattr(error_class, "sqlstate", None)
        if sqlstate:
            kind = f"{sqlstate} {kind}"
    else:
        kind, _, text = first.partition(": ")
        kind = kind.rsplit(".", 1)[-1]
    text = _NUMBER.sub("N", _QUOTED.sub("'…'", text))
    return f"{kind}: {' '.join(text.split())}"[:CATEGORY_WIDTH]


def failure_categories(run: Run) -> list[tuple[str, int, int, str]]:
    """(category, tests, test classes, an example test) for every failed or errored test,
    most tests first. A set-up error fails every test of its class, so classes are given
    too: they say how many distinct places hit the cause."""
    tests: dict[str, list[str]] = defaultdict(list)
    for name, test in run.tests.items():
        if test.outcome in ("failed", "error"):
            tests[category(test.message)].append(name)
    rows = []
    for cat, names in tests.items():
        classes = {name.split("::")[1] for name in names if "::" in name}
        rows.append((cat, len(names), len(classes), sorted(names)[0]))
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def table(runs: dict[str, Run]) -> list[list[str]]:
    """Rows of the side-by-side table: outcome counts per target, then how many of the
    first target's passing tests pass on each of the others."""
    counts = {name: run.counts() for name, run in runs.items()}
    rows = [["", *runs]]
    for outcome in OUTCOMES:
        rows.append([outcome, *(str(c[outcome]) for c in counts.values())])
    rows.append(["total", *(str(len(run.tests)) for run in runs.values())])
    rows.append(["finished", *("yes" if run.finished else "NO" for run in runs.values())])
    rows.append(["wall time (s)", *(f"{run.seconds:.0f}" for run in runs.values())])
    names = list(runs)
    if len(names) > 1:
        reference = runs[names[0]].passed()
        rows.append(
            [
                f"of {names[0]}'s {len(reference)} passes",
                *(str(len(reference & run.passed())) for run in runs.values()),
            ]
        )
    return rows


def format_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                  enumerate(zip(row, widths, strict=True)))
        for row in rows
    )  # fmt: skip


def markdown_table(rows: Iterable[list[str]]) -> str:
    rows = list(rows)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def markdown(runs: dict[str, Run], header: str) -> str:
    """The summary: the table, then each target's failure categories (all but the first
    target, the reference)."""
    parts = [header, "", markdown_table(table(runs))]
    for name, run in list(runs.items())[1:] if len(runs) > 1 else runs.items():
        rows = [["tests", "classes", "category", "example"]]
        for cat, n, classes, example in failure_categories(run):
            cell = cat.replace("|", "\\|")
            rows.append([str(n), str(classes), f"`{cell}`", example.split("::", 1)[-1]])
        parts += ["", f"Failures and errors on {name}, by category:", "", markdown_table(rows)]
    return "\n".join(parts) + "\n"
