"""S3 backend: boto3 for everything conditional and small, pyarrow.fs for bulk downloads.

Conditional writes (`If-None-Match: *`, `If-Match: <etag>`) need boto3: pyarrow.fs has
none. `download` goes through `pyarrow.fs.S3FileSystem`, whose C++ reads run without the
GIL. `get_range` is a single ranged GET through boto3: pyarrow's random-access files
HEAD the object first, which would double the requests of every cold index read.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import InvalidParameterValue, StorageError
from .base import Blob, ObjectInfo, ObjectNotFound, ObjectStore, PreconditionFailed

if TYPE_CHECKING:
    import pyarrow.fs

    from ..config import Settings

_DOWNLOAD_CHUNK = 16 << 20  # one ranged GET per 16 MiB when streaming to a file

# botocore operation name -> the bucket `request_counts` uses (what S3 bills).
_OP_NAMES = {
    "GetObject": "get",
    "HeadObject": "head",
    "PutObject": "put",
    "ListObjectsV2": "list",
    "DeleteObject": "delete",
}


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


def _body(data: Blob) -> bytes:
    # Callers hand over memoryviews too (zero-copy WAL framing); botocore takes only
    # bytes, bytearray or files.
    return data if isinstance(data, bytes | bytearray) else bytes(data)


def _etag(raw: str) -> str:
    # S3 sends ETags quoted; callers see them bare, and we quote them again for If-Match.
    return raw.strip('"')


class S3Store(ObjectStore):
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
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=10,
            read_timeout=60,
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

    @functools.cached_property
    def filesystem(self) -> pyarrow.fs.S3FileSystem:
        """A pyarrow filesystem on the same bucket (paths: `arrow_path(key)`)."""
        import pyarrow.fs

        s = self._settings
        kwargs: dict[str, Any] = {"region": s.s3_region}
        if self.endpoint:
            parts = urlsplit(self.endpoint)
            kwargs["endpoint_override"] = parts.netloc or parts.path
            kwargs["scheme"] = parts.scheme or "https"
        if s.s3_access_key_id and s.s3_secret_access_key:
            kwargs["access_key"] = s.s3_access_key_id
            kwargs["secret_key"] = s.s3_secret_access_key
        return pyarrow.fs.S3FileSystem(
            connect_timeout=10,
            request_timeout=60,
            retry_strategy=pyarrow.fs.AwsStandardS3RetryStrategy(max_attempts=5),
            **kwargs,
        )

    # -- helpers --------------------------------------------------------------------------

    def _full(self, key: str) -> str:
        if not key or key.startswith("/"):
            raise ValueError(f"bad object key {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def arrow_path(self, key: str) -> str:
        """`key` as a path for `self.filesystem` ("bucket/prefix/key")."""
        return f"{self.bucket}/{self._full(key)}"

    def _count(self, op: str, n: int = 1) -> None:
        with self._count_lock:
            self.request_counts[op] += n

    def _count_request(self, event_name: str, **_: Any) -> None:
        op = event_name.rsplit(".", 1)[-1]
        self._count(_OP_NAMES.get(op, op.lower()))

    def _error(
        self, exc: Exception, action: str, key: str, conditional: bool = False
    ) -> StorageError:
        """The StorageError (or subclass) a botocore failure means; the caller raises it."""
        where = f"{self.uri}/{key}"
        if not isinstance(exc, ClientError):  # connection failures, timeouts, credentials
            return StorageError(f"{action} {where} failed: {exc}")
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # 409 ConditionalRequestConflict: a concurrent conditional write to the same key.
        if status == 412 or code == "ConditionalRequestConflict" or (conditional and status == 409):
            return PreconditionFailed(f"{action} {where}: precondition failed ({code})")
        if code == "NoSuchBucket":
            return StorageError(f"{action} {where}: bucket {self.bucket!r} does not exist")
        if status == 404 or code in ("NoSuchKey", "NotFound"):
            return ObjectNotFound(f"object {key!r} not found in {self.uri}")
        msg = err.get("Message") or exc
        return StorageError(f"{action} {where} failed: HTTP {status} {code}: {msg}")

    @staticmethod
    def _retried(exc: ClientError) -> bool:
        return bool(exc.response.get("ResponseMetadata", {}).get("RetryAttempts"))

    # -- reads ----------------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        return self.get_with_etag(key)[0]

    def get_with_etag(self, key: str) -> tuple[bytes, str]:
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self._full(key))
            return resp["Body"].read(), _etag(resp["ETag"])
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "GET", key) from exc

    def get_range(self, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise ValueError(f"bad range start={start} length={length}")
        if length == 0:
            if not self.exists(key):
                raise ObjectNotFound(f"object {key!r} not found in {self.uri}")
            return b""
        rng = f"bytes={start}-{start + length - 1}"
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self._full(key), Range=rng)
            return resp["Body"].read()
        except ClientError as exc:
            # 416: the range starts at or past the end (or the object is empty).
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 416:
                return b""
            raise self._error(exc, "GET range", key) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "GET range", key) from exc

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._full(key))
            return True
        except (ClientError, BotoCoreError) as exc:
            error = self._error(exc, "HEAD", key)
            if isinstance(error, ObjectNotFound):
                return False
            raise error from exc

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ObjectInfo]:
        base = f"{self.prefix}/" if self.prefix else ""
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": base + prefix}
        if start_after is not None:
            args["StartAfter"] = base + start_after
        while True:
            try:
                page = self.client.list_objects_v2(**args)
            except (ClientError, BotoCoreError) as exc:
                raise self._error(exc, "LIST", prefix) from exc
            for obj in page.get("Contents", []):
                yield ObjectInfo(
                    obj["Key"][len(base) :], obj["Size"], obj["LastModified"].timestamp()
                )
            if not page.get("IsTruncated"):
                return
            args.pop("StartAfter", None)
            args["ContinuationToken"] = page["NextContinuationToken"]

    def download(self, key: str, path: str) -> None:
        try:
            self._count("head")  # pyarrow HEADs the object to learn its size
            src = self.filesystem.open_input_file(self.arrow_path(key))
        except FileNotFoundError:
            raise ObjectNotFound(f"object {key!r} not found in {self.uri}") from None
        except OSError as exc:
            raise StorageError(f"download {self.uri}/{key} failed: {exc}") from exc
        try:
            with src, open(path, "wb") as dst:
                size = src.size()
                for offset in range(0, size, _DOWNLOAD_CHUNK):
                    self._count("get")
                    dst.write(src.read_at(min(_DOWNLOAD_CHUNK, size - offset), offset))
        except OSError as exc:
            # Never leave a truncated file behind that looks like the object.
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise StorageError(f"download {self.uri}/{key} to {path} failed: {exc}") from exc

    # -- writes ---------------------------------------------------------------------------

    def put(self, key: str, data: Blob) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=_body(data))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "PUT", key) from exc

    def put_if_absent(self, key: str, data: Blob) -> None:
        data = _body(data)
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._full(key), Body=data, IfNoneMatch="*"
            )
        except ClientError as exc:
            if self._retried(exc) and self._landed(exc, key, data) is not None:
                return
            raise self._error(exc, "PUT If-None-Match", key, conditional=True) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "PUT If-None-Match", key, conditional=True) from exc

    def put_if_match(self, key: str, data: Blob, etag: str | None) -> str:
        data = _body(data)
        cond = {"IfNoneMatch": "*"} if etag is None else {"IfMatch": f'"{etag}"'}
        try:
            resp = self.client.put_object(
                Bucket=self.bucket, Key=self._full(key), Body=data, **cond
            )
            return _etag(resp["ETag"])
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = exc.response.get("Error", {}).get("Code")
            if etag is not None and status == 404 and code != "NoSuchBucket":
                # AWS and moto answer If-Match on a missing key with 404, SeaweedFS with
                # 412: either way the object we compared against is gone, the CAS lost.
                raise PreconditionFailed(f"CAS on {self.uri}/{key}: object is gone") from exc
            if self._retried(exc):
                landed = self._landed(exc, key, data)
                if landed is not None:
                    return landed
            raise self._error(exc, "PUT If-Match", key, conditional=True) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "PUT If-Match", key, conditional=True) from exc

    def _landed(self, exc: ClientError, key: str, data: Blob) -> str | None:
        """After a retried conditional PUT failed, did an earlier attempt of ours land?

        botocore retries timeouts and 5xx; when the first attempt succeeded but its
        response was lost, the retry fails its precondition against our own write.
        Identical bytes there mean our write is the one stored: report success.
        """
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status not in (409, 412):
            return None
        try:
            current, etag = self.get_with_etag(key)
        except ObjectNotFound:
            return None
        return etag if current == data else None

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._full(key))
        except (ClientError, BotoCoreError) as exc:
            error = self._error(exc, "DELETE", key)
            if not isinstance(error, ObjectNotFound):  # a missing key is fine
                raise error from exc

    def close(self) -> None:
        self.client.close()
