"""HTTP writes (upsert, delete), namespace creation and drop, and compaction at a member
that does not own the namespace go to the owner over a pooled keep-alive connection, and
the owner's answer (status, body, SQLSTATE) is the answer (decisions 0058, 0090)."""

from __future__ import annotations

import http.client
import select
import threading
import time
from collections.abc import Callable

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..cluster import ClusterNode
from ..cluster.forward_login import FORWARDED_BY_HEADER as FORWARDED_BY
from ..cluster.membership import Member
from ..cluster.routing import NotSent, next_owner, owner_elsewhere, owner_wait_deadline
from ..errors import OwnerUnavailable, StatementCompletionUnknown
from ..metrics import FORWARDED
from .shape import Json

# A pooled connection idle this long is closed, not reused: well under the owner's
# keep-alive (75 s), so a reused connection is never one the owner is closing.
IDLE_SECONDS = 30.0
ANSWER_TIMEOUT_SECONDS = 300.0  # a large upsert at the owner may take a while


class HttpPool:
    """Keep-alive connections to other members' HTTP ports, shared by request threads."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[tuple[float, http.client.HTTPConnection]]] = {}
        self._lock = threading.Lock()

    def send(
        self, method: str, host: str, port: int, path: str, body: bytes, sender: str
    ) -> tuple[int, bytes]:
        conn = self._take(host, port)
        headers = {"content-type": "application/json", FORWARDED_BY: sender}
        try:
            conn.request(method, path, body, headers)
        except OSError as exc:
            conn.close()
            raise NotSent(str(exc)) from None
        try:
            answer = conn.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise StatementCompletionUnknown(
                f"the owner at {host}:{port} took the write but did not answer ({exc}); it may "
                "or may not have been applied",
                hint="read the data to find out before retrying",
            ) from None
        if answer.will_close:
            conn.close()
        else:
            with self._lock:
                self._idle.setdefault((host, port), []).append((time.monotonic(), conn))
        return answer.status, data

    def _take(self, host: str, port: int) -> http.client.HTTPConnection:
        with self._lock:
            idle = self._idle.get((host, port), [])
            while idle:
                since, conn = idle.pop()
                if time.monotonic() - since < IDLE_SECONDS and _quiet(conn):
                    return conn
                conn.close()
        return http.client.HTTPConnection(host, port, timeout=ANSWER_TIMEOUT_SECONDS)


def _quiet(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle keep-alive connection is still open: the owner has nothing to say on
    one, so anything readable is EOF (it closed, or died)."""
    return conn.sock is not None and not select.select([conn.sock], [], [], 0)[0]


class HttpForwarding:
    def __init__(self, cluster: Callable[[], ClusterNode | None]) -> None:
        self.cluster = cluster
        self.pool = HttpPool()

    async def answer(
        self, request: Request, namespace: str, payload: Json | None
    ) -> Response | None:
        """The owner's answer to this request (a write, a namespace created or dropped, a
        compaction), or None when it is to be run here."""
        node = self.cluster()
        if request.headers.get(FORWARDED_BY) or node is None:
            return None
        target = owner_elsewhere(node, namespace)
        if target is None:
            return None
        body = orjson.dumps(payload) if payload is not None else b""
        call = (request.method, request.url.path, body)
        return await run_in_threadpool(self._send, node, namespace, target, call)

    def _send(
        self,
        node: ClusterNode,
        namespace: str,
        target: Member | None,
        call: tuple[str, str, bytes],
    ) -> Response | None:
        method, path, body = call
        deadline: float | None = None  # from the first attempt turned away
        while target is not None:
            address = target.address
            if address is None or address.http_port is None:
                raise OwnerUnavailable(
                    f'the owner of namespace "{namespace}", member {target.node_id}, serves '
                    "no HTTP API to forward the write to; nothing was written",
                    hint="write to the owner directly, or over the wire protocol",
                )
            try:
                status, data = self.pool.send(
                    method, address.host, address.http_port, path, body, node.node_id
                )
            except NotSent:
                deadline = deadline or owner_wait_deadline(node)
                target = next_owner(node, namespace, target, deadline)  # busy, or dead
                continue
            FORWARDED.labels("http").inc()
            return Response(data, status, media_type="application/json")
        return None  # this node took the namespace over: write it here
