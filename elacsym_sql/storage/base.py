"""The object-store interface both backends implement.

Every object is immutable once written except pointers, which change only through
`put_if_match` (compare-and-swap on the ETag). `put_if_absent` is the commit point of
WAL appends and manifest versions.
"""

from __future__ import annotations

import abc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

#: What a write accepts: large WAL records arrive as views of an Arrow buffer, not copied.
Blob = bytes | bytearray | memoryview


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    mtime: float  # seconds since the epoch
    etag: str | None = None  # when the listing says (S3 does), for `delete_if_unchanged`


class ObjectStore(abc.ABC):
    """Keys are '/'-separated paths relative to the store's root."""

    #: A URI naming the root, for messages and for the cache's directory name.
    uri: str

    def __init__(self) -> None:
        #: Requests made, by operation ("get", "put", "list", ...): what S3 would bill.
        self.request_counts: Counter[str] = Counter()

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The whole object; raises ObjectNotFound."""

    @abc.abstractmethod
    def get_with_etag(self, key: str) -> tuple[bytes, str]:
        """The object and its ETag, for a later `put_if_match`; raises ObjectNotFound."""

    @abc.abstractmethod
    def get_range(self, key: str, start: int, length: int) -> bytes:
        """`length` bytes from offset `start` (fewer at the end); raises ObjectNotFound."""

    @abc.abstractmethod
    def put(self, key: str, data: Blob) -> None:
        """Unconditional write; only for keys no one else writes (fresh unique names)."""

    @abc.abstractmethod
    def put_if_absent(self, key: str, data: Blob) -> None:
        """Create `key`; raises PreconditionFailed when it exists already."""

    @abc.abstractmethod
    def put_if_match(self, key: str, data: Blob, etag: str | None) -> str:
        """Replace `key` if its ETag is still `etag` (create it if `etag` is None).

        Returns the new ETag; raises PreconditionFailed when someone else got there first.
        """

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether `key` exists (one HEAD request on S3)."""

    @abc.abstractmethod
    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ObjectInfo]:
        """Objects whose key starts with `prefix`, in key order."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove `key`; a missing key is not an error."""

    @abc.abstractmethod
    def delete_if_unchanged(self, listed: ObjectInfo) -> bool:
        """Remove the object `listed` named if it is still the one listed (not written again
        since); False when it changed or is gone."""

    @abc.abstractmethod
    def download(self, key: str, path: str) -> None:
        """Write the object to the local file `path` (streamed, never held in memory)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
