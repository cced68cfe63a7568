"""Postgres schemas other than public (decision 0033), durable beside the namespaces: one
empty object per schema, `.schemas/<name>`, created with a conditional create so two
processes creating the same name agree on which one did."""

from __future__ import annotations

from ..layout import SCHEMAS, schema_key
from ..storage import ObjectStore, PreconditionFailed


class SchemaStore:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def names(self) -> set[str]:
        return {info.key[len(SCHEMAS) :] for info in self.store.list(SCHEMAS)}

    def create(self, name: str) -> bool:
        """True if this call made the schema, False if it existed already."""
        try:
            self.store.put_if_absent(schema_key(name), b"")
        except PreconditionFailed:
            return False
        return True

    def drop(self, name: str) -> None:
        self.store.delete(schema_key(name))
