"""Every error a client can see is declared in elacsym_sql/errors.py, under a PEP 249
category, with a SQLSTATE; exception classes elsewhere are only the internal signals below,
each caught inside its own module's layer and never shown to a client."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from elacsym_sql import errors

PACKAGE = Path(errors.__file__).resolve().parent

# Signals caught where they are raised: a lost conditional append retried (WriteConflict),
# a transaction decision not yet readable (_Undecided), a storage request worth retrying
# (Transient), a forwarded write (HTTP or wire) that never reached the owner, sent to its
# successor (NotSent), an owner silent after a cancel (NoAnswer, becomes 40003), a test
# server that did not come up (ServerStartError, tests only).
INTERNAL_SIGNALS = {
    "engine/namespace.py": {"WriteConflict"},
    "engine/transaction.py": {"_Undecided"},
    "storage/retry.py": {"Transient"},
    "cluster/routing.py": {"NotSent"},
    "cluster/pg_forward.py": {"NoAnswer"},
    "testing/s3servers.py": {"ServerStartError"},
}
CATEGORIES = (
    errors.InterfaceError,
    errors.DataError,
    errors.OperationalError,
    errors.IntegrityError,
    errors.InternalError,
    errors.ProgrammingError,
    errors.NotSupportedError,
)
KNOWN_EXCEPTIONS = {"Exception", "RuntimeError", "ValueError", "OSError", "LookupError"}


def _exception_classes(path: Path, known: set[str]) -> set[str]:
    """Classes in `path` whose bases are exceptions (builtin ones or names in `known`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ClassDef):
            bases = {
                b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in node.bases
            }
            if bases & (KNOWN_EXCEPTIONS | known):
                found.add(node.name)
    return found


def test_error_classes_live_in_errors_py() -> None:
    ours = {name for name, obj in vars(errors).items() if inspect.isclass(obj)}
    elsewhere = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "errors.py":
            continue
        classes = _exception_classes(path, ours) - INTERNAL_SIGNALS.get(rel, set())
        if classes:
            elsewhere[rel] = sorted(classes)
    assert elsewhere == {}


def test_each_error_has_a_category_and_a_sqlstate() -> None:
    for name, cls in vars(errors).items():
        if not (inspect.isclass(cls) and issubclass(cls, errors.ElacsymError)):
            continue
        if cls is errors.ElacsymError or cls in CATEGORIES or cls is errors.DatabaseError:
            continue
        assert issubclass(cls, CATEGORIES), f"{name} is under no PEP 249 category"
        assert len(cls.sqlstate) == 5, f"{name}: SQLSTATE {cls.sqlstate!r}"


def test_moved_errors_keep_their_sqlstates() -> None:
    """The classes that lived beside their users keep what clients were sent."""
    assert errors.AuthFailed("no").sqlstate == "28P01"
    assert errors.AuthFailed("bad exchange", "08P01").sqlstate == "08P01"
    framed = errors.FrameError("54000", "message too long", unread=12)
    assert (framed.sqlstate, framed.message, framed.unread) == ("54000", "message too long", 12)
    assert errors.InvalidSqlStatementName.sqlstate == "26000"
    assert errors.DuplicatePreparedStatement.sqlstate == "42P05"
    assert errors.BadCopyFormat.sqlstate == "22P04"
    assert errors.InvalidCopyOption.sqlstate == "42601"
    assert errors.ActiveSqlTransaction.sqlstate == "25001"
    assert errors.ObjectNotFound.sqlstate == "58030"
    assert errors.PreconditionFailed.sqlstate == "40001"
