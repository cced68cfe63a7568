"""CREATE VIEW's views (not TEMP ones), durable beside the namespaces (decision 0091): one
object per view, `.views/<name>`, holding the statement that makes it as DuckDB spells it.
A plain CREATE VIEW creates it conditionally (two processes creating one name: one wins,
the other gets 42P07); CREATE OR REPLACE VIEW overwrites it; DROP VIEW deletes it."""

from __future__ import annotations

from ..layout import VIEWS, view_key
from ..storage import ObjectNotFound, ObjectStore, PreconditionFailed


class ViewStore:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def names(self) -> set[str]:
        """Every stored view's name (one LIST)."""
        return {info.key[len(VIEWS) :] for info in self.store.list(VIEWS)}

    def get(self, name: str) -> str | None:
        """The statement that makes view `name`, or None when there is none (one GET)."""
        try:
            return self.store.get(view_key(name)).decode()
        except ObjectNotFound:
            return None

    def create(self, name: str, sql: str, replace: bool) -> bool:
        """Store the view; False when it exists and `replace` is not set."""
        if replace:
            self.store.put(view_key(name), sql.encode())
            return True
        try:
            self.store.put_if_absent(view_key(name), sql.encode())
        except PreconditionFailed:
            return False
        return True

    def drop(self, name: str) -> None:
        self.store.delete(view_key(name))
