"""Reading request bodies: the size limit, JSON decoding, and the shape of each field.

A body that is not JSON is 400 (22P02); a field of the wrong shape or JSON kind is 422
(42804) naming the field by its path (`documents[3].attributes.year`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from starlette.requests import Request

from ..errors import DatatypeMismatch, InvalidTextRepresentation, ProgramLimitExceeded

Json = dict[str, Any]

KINDS: dict[type | tuple[type, ...], str] = {
    dict: "an object",
    list: "a list",
    str: "a string",
    bool: "true or false",
    int: "an integer",
    (int, float): "a number",
}


async def read_json(request: Request, limit: int) -> Json:
    """The body as a JSON object; 413 past `limit` bytes (checked before reading it all)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
    try:
        body = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise InvalidTextRepresentation(f"malformed JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise DatatypeMismatch("the body must be a JSON object")
    return body


def _too_large(size: int, limit: int) -> ProgramLimitExceeded:
    return ProgramLimitExceeded(
        f"request body of {size} bytes or more exceeds the limit of {limit} bytes",
        hint="send smaller batches, or raise the server's http_max_body_bytes",
    )


def is_kind(value: Any, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return kind is bool
    if kind is bool:
        return False
    return isinstance(value, kind)


def get(
    obj: Json,
    key: str,
    kind: type | tuple[type, ...],
    path: str,
    *,
    required: bool = False,
    default: Any = None,
) -> Any:
    """`obj[key]` when it has the JSON kind `kind`; missing (or null): `default`."""
    value = obj.get(key)
    where = f"{path}.{key}" if path else key
    if value is None:
        if required:
            raise DatatypeMismatch(f"{where} is required")
        return default
    if not is_kind(value, kind):
        raise DatatypeMismatch(f"{where} must be {KINDS[kind]}")
    return value


def only(obj: Json, keys: Iterable[str], path: str) -> None:
    """Refuse keys the request kind does not have (a typo would otherwise go unnoticed)."""
    unknown = sorted(set(obj) - set(keys))
    if unknown:
        where = f"{path} has" if path else "the body has"
        raise DatatypeMismatch(f"{where} unknown field(s): {', '.join(unknown)}")
