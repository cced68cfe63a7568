"""S3 backend on boto3, with our own retries.

Conditional writes (`If-None-Match: *`, `If-Match: <etag>`) need boto3: pyarrow.fs has
none. `get_range` is a single ranged GET: pyarrow's random-access files HEAD the object
first, which would double the requests of every cold index read. `download` streams one
GET to the file, resuming with a ranged GET after a fault.

botocore's own retries are off (one attempt per call): its 'standard' mode stops
retrying for every request of a client once a burst of faults has drained a shared
quota, and it neither retries a body cut short nor tells a conditional PUT whose answer
was lost from one that lost its race. Every request here goes through
`call_with_retries` (a deadline per operation, backoff with full jitter); every failure
that remains becomes an elacsym_sql error.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import os
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import boto3
import urllib3.exceptions
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ChecksumError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    IncompleteReadError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from ..errors import (
    InvalidParameterValue,
    ObjectNotFound,
    PreconditionFailed,
    StatementCompletionUnknown,
    StorageError,
    StorageUnavailable,
)
from .base import Blob, ObjectInfo, ObjectStore
from .retry import Transient, call_with_retries

if TYPE_CHECKING:
    from ..config import Settings

T = TypeVar("T")

_DOWNLOAD_CHUNK = 1 << 20  # bytes written to the file at a time while streaming a GET

# botocore operation name -> the bucket `request_counts` uses (what S3 bills).
_OP_NAMES = {
    "GetObject": "get",
    "HeadObject": "head",
    "PutObject": "put",
    "ListObjectsV2": "list",
    "DeleteObject": "delete",
}

# The request never left this machine: a write that failed so surely did not happen.
_NOT_SENT = (EndpointConnectionError, ConnectTimeoutError)
# Transport failures worth another attempt. urllib3's ProtocolError (a connection dropped
# while botocore reads an error body) and http.client's errors reach us unwrapped.
_TRANSPORT = (
    BotoConnectionError,
    HTTPClientError,  # reset, read timeout, body cut short (ResponseStreamingError)
    IncompleteReadError,
    ChecksumError,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    ConnectionError,  # reset, refused, broken pipe
    TimeoutError,
)
# Error codes S3 answers when trying again later may work (besides any 5xx and 429).
_RETRY_CODES = frozenset(
    {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling"}
)


# One boto3 session per process: it caches the service models (a new session costs ~50 ms
# per store). Building clients on a session is not thread-safe, hence the lock; the
# clients themselves are.
_SESSION_LOCK = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix/` -> ("bucket", "some/prefix")."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise InvalidParameterValue(f"not an S3 URI: {uri!r} (expected s3://bucket/prefix)")
    return parts.netloc, parts.path.strip("/")


def _body(data: Blob) -> bytes | bytearray:
    # Callers hand over memoryviews too (zero-copy WAL framing); botocore takes only
    # bytes, bytearray or files.
    return data if isinstance(data, bytes | bytearray) else bytes(data)


def _etag(raw: str) -> str:
    # S3 sends ETags quoted; callers see them bare, and we quote them again for If-Match.
    return raw.strip('"')


def _status(exc: ClientError) -> int | None:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _read_body(resp: dict[str, Any]) -> bytes:
    """The whole body of a GET; a body shorter than its Content-Length is a fault, never data
    (botocore checks this as well today; correctness does not rest on that)."""
    data: bytes = resp["Body"].read()
    if len(data) != resp["ContentLength"]:
        raise Transient(f"body cut short: {len(data)} of {resp['ContentLength']} bytes")
    return data


def _as_transient(exc: Exception) -> Transient | None:
    """The Transient a failed request amounts to, or None when trying again cannot help."""
    if isinstance(exc, Transient):
        return exc
    if isinstance(exc, ClientError):
        status, code = _status(exc), _code(exc)
        if (status or 0) >= 500 or status == 429 or code in _RETRY_CODES:
            # S3 refuses with 503 (SlowDown) and RequestTimeout before doing anything.
            refused = status == 503 or code == "RequestTimeout"
            return Transient(f"HTTP {status} {code}", maybe_applied=not refused)
        return None
    if isinstance(exc, _NOT_SENT):
        return Transient(str(exc), maybe_applied=False)
    if isinstance(exc, _TRANSPORT):
        return Transient(f"{type(exc).__name__}: {exc}")
    return None


def _attempt(call: Callable[[], T], faults: list[Transient] | None) -> T:
    """One request; a failure worth retrying becomes Transient (and is noted in `faults`)."""
    try:
        return call()
    except Exception as exc:
        fault = _as_transient(exc)
        if fault is None:
            raise
        if faults is not None:
            faults.append(fault)
        if fault is exc:
            raise
        raise fault from exc


class S3Store(ObjectStore):
    #: One attempt per botocore call: retries are ours (see the module docstring).
    _botocore_retries: ClassVar[dict[str, Any]] = {"mode": "standard", "total_max_attempts": 1}

    def __init__(self, uri: str, settings: Settings) -> None:
        super().__init__()
        self.bucket, self.prefix = parse_s3_uri(uri)
        self.uri = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        #: The endpoint URL (None: AWS). Part of the disk cache's identity for this store.
        self.endpoint: str | None = settings.s3_endpoint or None
        self._settings = settings
        self._count_lock = threading.Lock()
        self.client = self._make_client()

    # -- construction -------------------------------------------------------------------

    def _make_client(self) -> Any:
        s = self._settings
        extra: dict[str, Any] = {}
        if self.endpoint:
            # S3-compatible servers (SeaweedFS, MinIO, ...) want path-style addressing, and
            # several reject botocore's default CRC trailers on plain-HTTP uploads.
            extra = {
                "s3": {"addressing_style": "path"},
                "request_checksum_calculation": "when_required",
                "response_checksum_validation": "when_required",
            }
        config = Config(
            region_name=s.s3_region,
            retries=self._botocore_retries,
            connect_timeout=s.storage_timeout_seconds,
            read_timeout=s.storage_timeout_seconds,
            max_pool_connections=32,  # several reader threads plus the indexer
            **extra,
        )
        with _SESSION_LOCK:
            client = _session().client(
                "s3",
                endpoint_url=self.endpoint,
                region_name=s.s3_region,
                aws_access_key_id=s.s3_access_key_id or None,
                aws_secret_access_key=s.s3_secret_access_key or None,
                config=config,
            )
        # Counted per HTTP attempt (retries included), which is what S3 bills.
        client.meta.events.register("before-send.s3", self._count_request)
        return client

    # -- helpers --------------------------------------------------------------------------

    def _full(self, key: str) -> str:
        if not key or key.startswith("/"):
            raise ValueError(f"bad object key {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _where(self, key: str) -> dict[str, str]:
        """The Bucket and Key arguments of a request for `key`."""
        return {"Bucket": self.bucket, "Key": self._full(key)}

    def _count(self, op: str, n: int = 1) -> None:
        with self._count_lock:
            self.request_counts[op] += n

    def _count_request(self, event_name: str, **_: Any) -> None:
        op = event_name.rsplit(".", 1)[-1]
        self._count(_OP_NAMES.get(op, op.lower()))

    def _run(
        self,
        action: str,
        key: str,
        call: Callable[[], T],
        *,
        write: bool = False,
        conditional: bool = False,
        faults: list[Transient] | None = None,
    ) -> T:
        """`call` (one request) retried until the deadline; every failure that remains is
        an elacsym_sql error. Transient failures seen are noted in `faults`. `write`: the
        request changes the store (a conditional one is a write too)."""
        try:
            return call_with_retries(
                lambda: _attempt(call, faults),
                self._settings.storage_deadline_seconds,
                f"{action} {self.uri}/{key}",
                write=write or conditional,
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, action, key, conditional) from exc

    def _error(self, exc: Exception, action: str, key: str, conditional: bool) -> StorageError:
        """The StorageError (or subclass) a botocore failure means; the caller raises it."""
        where = f"{self.uri}/{key}"
        if not isinstance(exc, ClientError):  # credentials, bad parameters
            return StorageError(f"{action} {where} failed: {exc}")
        code, status = _code(exc), _status(exc)
        # 409 ConditionalRequestConflict: a concurrent conditional write to the same key.
        if status == 412 or code == "ConditionalRequestConflict" or (conditional and status == 409):
            return PreconditionFailed(f"{action} {where}: precondition failed ({code})")
        if code == "NoSuchBucket":
            return StorageError(f"{action} {where}: bucket {self.bucket!r} does not exist")
        if conditional and status == 404:
            # AWS and moto answer If-Match on a missing key with 404, SeaweedFS with 412:
            # either way the object we compared against is gone, the CAS lost.
            return PreconditionFailed(f"{action} {where}: object is gone")
        if status == 404 or code in ("NoSuchKey", "NotFound"):
            return ObjectNotFound(f"object {key!r} not found in {self.uri}")
        msg = exc.response.get("Error", {}).get("Message") or exc
        return StorageError(f"{action} {where} failed: HTTP {status} {code}: {msg}")

    # -- reads ----------------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        return self.get_with_etag(key)[0]

    def get_with_etag(self, key: str) -> tuple[bytes, str]:
        def call() -> tuple[bytes, str]:
            resp = self.client.get_object(Bucket=self.bucket, Key=self._full(key))
            return _read_body(resp), _etag(resp["ETag"])

        return self._run("GET", key, call)

    def get_range(self, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise ValueError(f"bad range start={start} length={length}")
        if length == 0:
            if not self.exists(key):
                raise ObjectNotFound(f"object {key!r} not found in {self.uri}")
            return b""
        rng = f"bytes={start}-{start + length - 1}"

        def call() -> bytes:
            try:
                resp = self.client.get_object(Bucket=self.bucket, Key=self._full(key), Range=rng)
            except ClientError as exc:
                if _status(exc) == 416:  # the range starts at or past the end
                    return b""
                raise
            return _read_body(resp)

        return self._run("GET range", key, call)

    def exists(self, key: str) -> bool:
        try:
            self._run("HEAD", key, lambda: self.client.head_object(**self._where(key)))
            return True
        except ObjectNotFound:
            return False

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ObjectInfo]:
        base = f"{self.prefix}/" if self.prefix else ""
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": base + prefix}
        if start_after is not None:
            args["StartAfter"] = base + start_after
        while True:
            page = self._run("LIST", prefix, lambda: self.client.list_objects_v2(**args))
            for obj in page.get("Contents", []):
                key, mtime = obj["Key"][len(base) :], obj["LastModified"].timestamp()
                yield ObjectInfo(key, obj["Size"], mtime, _etag(obj["ETag"]))
            if not page.get("IsTruncated"):
                return
            args.pop("StartAfter", None)
            args["ContinuationToken"] = page["NextContinuationToken"]

    def download(self, key: str, path: str) -> None:
        etag = ""  # of the first answer: a resumed GET must read the same object

        def call(dst: Any) -> None:
            nonlocal etag
            args = self._where(key)
            offset = dst.tell()
            if offset:  # an earlier attempt got this far: fetch only the rest
                args.update(Range=f"bytes={offset}-", IfMatch=f'"{etag}"')
            resp = self.client.get_object(**args)
            etag = _etag(resp["ETag"])
            for chunk in resp["Body"].iter_chunks(_DOWNLOAD_CHUNK):
                dst.write(chunk)
            if dst.tell() != offset + resp["ContentLength"]:
                raise Transient(f"body cut short at {dst.tell()} bytes")

        try:
            with open(path, "wb") as dst:
                self._run("GET", key, lambda: call(dst))
        except BaseException as exc:
            # Never leave a truncated file behind that looks like the object.
            with contextlib.suppress(OSError):
                os.unlink(path)
            if isinstance(exc, OSError):  # the local file (disk full, ...)
                raise StorageError(f"download {self.uri}/{key} to {path} failed: {exc}") from exc
            raise

    # -- writes ---------------------------------------------------------------------------

    def put(self, key: str, data: Blob) -> None:
        body = _body(data)
        self._run(
            "PUT", key, lambda: self.client.put_object(**self._where(key), Body=body), write=True
        )

    def put_if_absent(self, key: str, data: Blob) -> None:
        self._put_conditional(key, _body(data), None, "PUT If-None-Match")

    def put_if_match(self, key: str, data: Blob, etag: str | None) -> str:
        return self._put_conditional(key, _body(data), etag, "PUT If-Match")

    def _put_conditional(
        self, key: str, body: bytes | bytearray, etag: str | None, action: str
    ) -> str:
        """PUT `body` if `key` is absent (`etag` None) or still has `etag`; the new ETag.

        An attempt whose answer was lost may have landed: then a later attempt fails its
        precondition against our own write, or the deadline passes. Either way the object
        is read back to decide. The statement's deadline or cancel (retry.py) stops it only
        before an attempt may have landed: that QueryCanceled passes, nothing was written.
        """
        cond = {"IfNoneMatch": "*"} if etag is None else {"IfMatch": f'"{etag}"'}
        faults: list[Transient] = []

        def call() -> str:
            return _etag(self.client.put_object(**self._where(key), Body=body, **cond)["ETag"])

        try:
            return self._run(action, key, call, conditional=True, faults=faults)
        except (PreconditionFailed, StorageUnavailable) as exc:
            if not any(f.maybe_applied for f in faults):
                raise
            return self._resolve(key, body, etag, exc)

    def _resolve(
        self, key: str, body: bytes | bytearray, etag: str | None, failure: StorageError
    ) -> str:
        """After `failure` of a conditional PUT an earlier attempt of which may have landed:
        our bytes stored -> success (their ETag); other bytes -> PreconditionFailed;
        unknown -> StatementCompletionUnknown (40003)."""
        where = f"{self.uri}/{key}"
        unknown = (
            f"PUT {where}: the store did not confirm the write and it could not be read"
            " back; the statement may or may not have taken effect"
        )
        try:
            current, current_etag = self.get_with_etag(key)
        except ObjectNotFound:
            if isinstance(failure, StorageUnavailable) and etag is None:
                # Nothing there yet, but an attempt still in flight may create it.
                raise StatementCompletionUnknown(unknown) from failure
            raise PreconditionFailed(f"PUT {where}: precondition failed") from failure
        except StorageUnavailable as exc:
            raise StatementCompletionUnknown(unknown) from exc
        # Identical bytes are our write: nobody else writes the same record or pointer.
        if current == body:
            return current_etag
        if isinstance(failure, PreconditionFailed):
            raise failure
        raise PreconditionFailed(f"PUT {where}: someone else's write is there") from failure

    def delete(self, key: str) -> None:
        with contextlib.suppress(ObjectNotFound):  # a missing key is fine
            self._run(
                "DELETE", key, lambda: self.client.delete_object(**self._where(key)), write=True
            )

    def delete_if_unchanged(self, listed: ObjectInfo) -> bool:
        """DELETE with If-Match on the listed ETag (AWS since 2025-09, moto 5.2). A store
        that ignores the header deletes unconditionally."""
        where = self._where(listed.key)
        cond = {} if listed.etag is None else {"IfMatch": f'"{listed.etag}"'}
        try:
            self._run(
                "DELETE If-Match",
                listed.key,
                lambda: self.client.delete_object(**where, **cond),
                conditional=True,
            )
        except (PreconditionFailed, ObjectNotFound):  # written again since, or gone
            return False
        return True

    def close(self) -> None:
        self.client.close()
