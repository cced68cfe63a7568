"""User-defined enum types (`CREATE TYPE mood AS ENUM (...)`), durable beside the namespaces.

One object per type, `.types/<name>.json`, created with a conditional create (two
processes creating the same name: one wins, the other gets 42710) and deleted by DROP
TYPE. A namespace column of an enum type keeps the labels in its own schema too, so the
namespace reads the same even if the type object is gone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import DuplicateObject
from ..layout import TYPES, type_key
from ..storage import ObjectNotFound, ObjectStore, PreconditionFailed


@dataclass(frozen=True)
class EnumType:
    name: str
    labels: tuple[str, ...]


class TypeStore:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def create(self, enum: EnumType) -> None:
        data = json.dumps({"name": enum.name, "labels": list(enum.labels)}).encode()
        try:
            self.store.put_if_absent(type_key(enum.name), data)
        except PreconditionFailed:
            raise DuplicateObject(f'type "{enum.name}" already exists') from None

    def get(self, name: str) -> EnumType | None:
        try:
            raw = json.loads(self.store.get(type_key(name)))
        except ObjectNotFound:
            return None
        return EnumType(raw["name"], tuple(raw["labels"]))

    def all(self) -> list[EnumType]:
        names = [
            info.key[len(TYPES) : -len(".json")]
            for info in self.store.list(TYPES)
            if info.key.endswith(".json")
        ]
        return [t for t in (self.get(n) for n in names) if t is not None]

    def drop(self, name: str) -> None:
        self.store.delete(type_key(name))
