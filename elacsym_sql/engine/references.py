"""Which namespaces hold a FOREIGN KEY to a namespace: one empty marker object each,
`.references/<referenced>/<referencing>`, written when the referencing table is created.

A delete from the referenced table lists these markers (one LIST request) to find the
tables it must check; a marker outliving its table, or its foreign key, is ignored by the
caller, which reads the referencing schema anyway.
"""

from __future__ import annotations

from ..layout import references_prefix as _prefix
from ..storage import ObjectStore


class References:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def add(self, referenced: str, referencing: str) -> None:
        self._store.put(_prefix(referenced) + referencing, b"")

    def remove(self, referenced: str, referencing: str) -> None:
        self._store.delete(_prefix(referenced) + referencing)

    def referrers(self, referenced: str) -> list[str]:
        """Namespaces that declared a foreign key to `referenced` (some maybe gone since)."""
        prefix = _prefix(referenced)
        return [o.key[len(prefix) :] for o in self._store.list(prefix)]
