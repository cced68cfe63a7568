"""Whether the statement running now reads eventually: `SET elacsym.consistency =
'eventual'` (or the `consistency` setting as the sessions' default) lets its reads of
namespaces use this process's cached view instead of probing storage for newer writes.
Writes, DDL and transaction blocks read strongly whatever the setting (decision 0061)."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

SETTING = "elacsym.consistency"

_EVENTUAL = contextvars.ContextVar("elacsym_eventual_reads", default=False)


@contextlib.contextmanager
def reads(consistency: str | None) -> Iterator[None]:
    """Run the body with reads as `consistency` says ('eventual' or else strong)."""
    token = _EVENTUAL.set(consistency == "eventual")
    try:
        yield
    finally:
        _EVENTUAL.reset(token)


def eventual() -> bool:
    """Whether reads of the statement running in this context may be eventual."""
    return _EVENTUAL.get()
