"""Sequences durable on the object store, handed out in blocks (decision 0025).

One object per sequence, `.sequences/<name>`, holds its options and `next`: the first value
no process has reserved yet. A process reserves a block of values by compare-and-swap on
that object (put_if_match on the ETag it read) and hands them out from memory, so a value
is never issued twice, across processes and restarts; the values of a block its process
did not use before it stopped are skipped (gaps, as Postgres leaves with CACHE).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import asdict, dataclass

from ..errors import (
    DuplicateTable,
    InvalidParameterValue,
    NumericValueOutOfRange,
    SequenceLimitExceeded,
    SerializationFailure,
    UndefinedTable,
)
from ..layout import SEQUENCES, sequence_key
from ..storage import ObjectNotFound, ObjectStore, PreconditionFailed

BLOCK = 32  # values reserved per conditional write, at least
_ROWIDS = re.compile(r"\.rowid\.[0-9a-f]{32}$")  # rowid_sequence's names
_BOUNDS = {"SMALLINT": 2**15 - 1, "INTEGER": 2**31 - 1, "BIGINT": 2**63 - 1}
_RETRIES = 64


def rowid_sequence(namespace: str, incarnation: str) -> str:
    """The hidden row ids of one incarnation of a table without a primary key (a name no
    user sequence can have: '.' is not in names): a table created again starts afresh,
    and a process still holding a block of the old one cannot reuse its ids."""
    return f"{namespace}.rowid.{incarnation}"


@dataclass(frozen=True)
class SequenceSpec:
    start: int | None = None
    increment: int = 1
    minvalue: int | None = None
    maxvalue: int | None = None
    cache: int = 1
    type: str = "BIGINT"  # the bounds' type: INTEGER for SERIAL, SMALLINT for SMALLSERIAL

    @property
    def low(self) -> int:
        if self.minvalue is not None:
            return self.minvalue
        return 1 if self.increment > 0 else -_BOUNDS[self.type] - 1

    @property
    def high(self) -> int:
        if self.maxvalue is not None:
            return self.maxvalue
        return _BOUNDS[self.type] if self.increment > 0 else -1

    @property
    def first(self) -> int:
        if self.start is not None:
            return self.start
        return self.low if self.increment > 0 else self.high

    def check(self, name: str) -> None:
        if self.increment == 0:
            raise InvalidParameterValue("INCREMENT must not be zero")
        if self.low >= self.high:
            raise InvalidParameterValue(
                f"MINVALUE ({self.low}) must be less than MAXVALUE ({self.high})"
            )
        if not self.low <= self.first <= self.high:
            raise InvalidParameterValue(
                f"START value ({self.first}) cannot be less than MINVALUE ({self.low})"
                if self.first < self.low
                else f"START value ({self.first}) cannot be greater than MAXVALUE ({self.high})"
            )
        if self.cache < 1:
            raise InvalidParameterValue(f"CACHE ({self.cache}) must be greater than zero")


class Sequences:
    """Every sequence under one storage root, with this process's reserved blocks."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._lock = threading.RLock()  # reserving may create (hidden row ids)
        self._blocks: dict[str, tuple[int, int, int]] = {}  # name: (next, left, increment)

    def create(self, name: str, spec: SequenceSpec, if_not_exists: bool = False) -> bool:
        """Create a sequence; False when it exists and `if_not_exists`."""
        spec.check(name)
        body = json.dumps({"spec": asdict(spec), "next": spec.first}).encode()
        try:
            self._store.put_if_absent(sequence_key(name), body)
        except PreconditionFailed:
            if if_not_exists:
                return False
            raise DuplicateTable(f'relation "{name}" already exists') from None
        with self._lock:
            self._blocks.pop(name, None)  # a block of a dropped sequence of that name
        return True

    def drop(self, name: str, if_exists: bool = False) -> bool:
        with self._lock:
            self._blocks.pop(name, None)
        if not self._store.exists(sequence_key(name)):
            if if_exists:
                return False
            raise UndefinedTable(f'sequence "{name}" does not exist')
        self._store.delete(sequence_key(name))
        return True

    def exists(self, name: str) -> bool:
        return self._store.exists(sequence_key(name))

    def listed(self) -> dict[str, float]:
        """Every sequence users made (CREATE SEQUENCE, SERIAL, identity) with the time its
        object was last written, by one listing; the hidden row-id sequences left out."""
        listed = {o.key[len(SEQUENCES) :]: o.mtime for o in self._store.list(SEQUENCES)}
        return {n: t for n, t in listed.items() if not _ROWIDS.search(n)}

    def spec(self, name: str) -> SequenceSpec:
        """A sequence's options (UndefinedTable when there is none)."""
        return SequenceSpec(**self._read(name)[0]["spec"])

    def next_values(self, name: str, count: int, implicit: SequenceSpec | None = None) -> list[int]:
        """`count` fresh values of `name`, in order. `implicit`: create the sequence with
        these options when it does not exist (hidden row ids)."""
        out: list[int] = []
        with self._lock:
            while len(out) < count:
                nxt, left, step = self._blocks.get(name, (0, 0, 1))
                if not left:
                    want = count - len(out)
                    nxt, left, step = self._reserve(name, want, implicit)
                take = min(left, count - len(out))
                out.extend(range(nxt, nxt + take * step, step))
                self._blocks[name] = (nxt + take * step, left - take, step)
        return out

    def setval(self, name: str, value: int, is_called: bool = True) -> int:
        """Make the next value handed out anywhere `value` + increment (or `value`)."""
        with self._lock:
            self._blocks.pop(name, None)
            for _ in range(_RETRIES):
                state, etag = self._read(name)
                spec = SequenceSpec(**state["spec"])
                if not spec.low <= value <= spec.high:
                    raise NumericValueOutOfRange(
                        f'setval: value {value} is out of bounds for sequence "{name}" '
                        f"({spec.low}..{spec.high})"
                    )
                state["next"] = value + spec.increment if is_called else value
                try:
                    self._store.put_if_match(sequence_key(name), json.dumps(state).encode(), etag)
                    return value
                except PreconditionFailed:
                    continue
        raise SerializationFailure(f'could not set sequence "{name}": too many concurrent writers')

    def restart(self, name: str) -> None:
        """Hand out the sequence's START value next (TRUNCATE ... RESTART IDENTITY)."""
        state, _ = self._read(name)
        spec = SequenceSpec(**state["spec"])
        self.setval(name, spec.first, is_called=False)

    def _read(self, name: str) -> tuple[dict, str]:
        try:
            raw, etag = self._store.get_with_etag(sequence_key(name))
        except ObjectNotFound:
            raise UndefinedTable(f'relation "{name}" does not exist') from None
        return json.loads(raw), etag

    def _reserve(self, name: str, want: int, implicit: SequenceSpec | None) -> tuple[int, int, int]:
        """Reserve a block of at least `want` values (fewer near the end of the range) by
        one conditional write: (first value, how many, increment)."""
        for _ in range(_RETRIES):
            try:
                state, etag = self._read(name)
            except UndefinedTable:
                if implicit is None:
                    raise
                self.create(name, implicit, if_not_exists=True)
                continue
            spec = SequenceSpec(**state["spec"])
            nxt, step = int(state["next"]), spec.increment
            limit = spec.high if step > 0 else spec.low
            left = (limit - nxt) // step + 1 if (limit - nxt) * step >= 0 else 0
            if left <= 0:
                edge = "maximum" if step > 0 else "minimum"
                raise SequenceLimitExceeded(
                    f'nextval: reached {edge} value of sequence "{name}" ({limit})'
                )
            take = min(left, max(want, spec.cache, BLOCK))
            state["next"] = nxt + take * step
            try:
                self._store.put_if_match(sequence_key(name), json.dumps(state).encode(), etag)
            except PreconditionFailed:
                continue  # another process reserved a block first: read again
            return nxt, take, step
        raise SerializationFailure(
            f'could not reserve values of sequence "{name}": too many concurrent writers'
        )
