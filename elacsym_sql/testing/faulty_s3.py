"""A fault-injecting HTTP proxy in front of an S3 server, for tests and benchmarks.

    with FaultyS3Proxy(s3.endpoint, rate=0.2, seed=7) as proxy:
        elacsym_sql.connect(..., s3_endpoint=proxy.endpoint)
        proxy.fail_next("reset_after", method="PUT")  # one fault on the next PUT
        proxy.rate = 0.0  # stop injecting at random (and proxy.clear(): scripted ones)
        proxy.injected  # faults injected so far, by kind

Each request is read whole, then (with probability `rate`, or when scripted) one fault:
- "error_500": an InternalError answer; the request never reaches the server.
- "slow_down": a 503 SlowDown answer; the request never reaches the server.
- "reset_before": the connection is reset; the request never reaches the server.
- "reset_after": the request is forwarded (it takes effect), then the connection is reset:
  the answer is lost.
- "truncate": forwarded, then the answer is cut off halfway (through its body, or through
  its headers when it has no body) and the connection reset.
- "delay": forwarded after a random pause of up to `max_delay` seconds.

Plain threads and sockets on 127.0.0.1 (a free port); no third-party code.
"""

from __future__ import annotations

import http.client
import random
import socket
import socketserver
import struct
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

FAULTS = ("error_500", "slow_down", "reset_before", "reset_after", "truncate", "delay")
_REFUSALS = {
    "error_500": (500, "Internal Server Error", "InternalError"),
    "slow_down": (503, "Slow Down", "SlowDown"),
}
# Hop-by-hop headers: about one connection, never passed on.
_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding"}
    | {"upgrade", "expect"}
)


@dataclass(frozen=True)
class _Scripted:
    kind: str
    method: str | None  # None: any method


class FaultyS3Proxy:
    """Forwards HTTP/1.1 requests to `upstream` ("http://host:port"), injecting faults."""

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.0,
        kinds: tuple[str, ...] = FAULTS,
        seed: int = 0,
        max_delay: float = 0.2,
    ) -> None:
        unknown = set(kinds) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown fault kind(s): {sorted(unknown)}")
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rate = rate
        self.kinds = kinds
        self.max_delay = max_delay
        #: Faults injected so far, by kind.
        self.injected: Counter[str] = Counter()
        #: Requests received (faulted or not).
        self.requests = 0
        #: Requests received, by "METHOD /path?query" (what the server was asked, retries too).
        self.targets: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._script: deque[_Scripted] = deque()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        host, port = self._server.server_address[:2]
        #: The URL clients use instead of the upstream's.
        self.endpoint = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(0.05,),  # poll interval: how long stop() waits
            name="faulty-s3-proxy",
            daemon=True,
        )

    def start(self) -> FaultyS3Proxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultyS3Proxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def fail_next(self, kind: str, *, method: str | None = None, times: int = 1) -> None:
        """Inject `kind` into the next `times` requests with `method` (any, if None)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._script.extend(_Scripted(kind, method) for _ in range(times))

    def clear(self) -> None:
        """Forget scripted faults not injected yet."""
        with self._lock:
            self._script.clear()

    def requests_received(self) -> Counter[str]:
        """A copy of `targets`: requests received so far by "METHOD /path?query"."""
        with self._lock:
            return self.targets.copy()

    def keys_requested(self) -> Counter[str]:
        """Requests received so far by the object key they named (a listing: its prefix),
        without the bucket; path-style addresses, as clients use for a 127.0.0.1 endpoint."""
        out: Counter[str] = Counter()
        for request, n in self.requests_received().items():
            parts = urlsplit(request.split(" ", 1)[1])
            _, _, key = parts.path.lstrip("/").partition("/")
            if not key:
                key = parse_qs(parts.query).get("prefix", [""])[0]
            out[unquote(key)] += n
        return out

    def _choose(self, method: str, target: str) -> tuple[str | None, float]:
        """The fault for a request (None: forward it untouched) and the delay to use."""
        with self._lock:
            self.requests += 1
            self.targets[f"{method} {target}"] += 1
            kind = None
            for scripted in self._script:
                if scripted.method in (None, method):
                    self._script.remove(scripted)
                    kind = scripted.kind
                    break
            else:
                if self.kinds and self._rng.random() < self.rate:
                    kind = self._rng.choice(self.kinds)
            if kind is not None:
                self.injected[kind] += 1
            return kind, self._rng.uniform(0, self.max_delay)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up stop()
    allow_reuse_address = True
    proxy: FaultyS3Proxy


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        # One request after another on the client's keep-alive connection.
        while self._serve_one():
            pass

    def _serve_one(self) -> bool:
        """Serve one request; False when the connection is done (closed or reset)."""
        try:
            line = self.rfile.readline(65537)
            if not line.strip():
                return False
            method, target, _ = line.decode("latin-1").split(" ", 2)
            headers = http.client.parse_headers(self.rfile)
            if headers.get("Expect", "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if "chunked" in headers.get("Transfer-Encoding", ""):
                raise ValueError("chunked request bodies are not supported")
            body = self.rfile.read(int(headers.get("Content-Length", 0)))
        except (OSError, ValueError):
            return False
        proxy = self.server.proxy
        kind, delay = proxy._choose(method, target)
        if kind == "reset_before":
            return self._reset()
        if kind in _REFUSALS:
            self.wfile.write(_refusal(method, *_REFUSALS[kind]))
            return True
        if kind == "delay":
            time.sleep(delay)
        forward = {k: v for k, v in headers.items() if k.lower() not in _HOP}
        try:
            answer = _forward(proxy._upstream, method, target, body, forward)
        except OSError:
            return self._reset()  # the server is gone: so is the answer
        if kind == "reset_after":
            return self._reset()
        head, payload = answer
        if kind == "truncate":
            cut = len(head) + len(payload) // 2 if payload else len(head) // 2
            self.wfile.write((head + payload)[:cut])
            return self._reset()
        self.wfile.write(head + payload)
        return True

    def _reset(self) -> bool:
        """Drop the connection with a TCP reset (no FIN: the client sees ECONNRESET)."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # The socket closes for real only once its file objects are closed too.
        self.rfile.close()
        self.wfile.close()
        self.connection.close()
        return False


def _forward(
    upstream: tuple[str, int], method: str, target: str, body: bytes, headers: dict[str, Any]
) -> tuple[bytes, bytes]:
    """Send the request upstream on a fresh connection; (status line and headers, body)."""
    conn = http.client.HTTPConnection(*upstream, timeout=60)
    try:
        conn.request(method, target, body=body or None, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        fields = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP]
        if method != "HEAD":  # a HEAD answer keeps the object's Content-Length
            fields = [(k, v) for k, v in fields if k.lower() != "content-length"]
            fields.append(("Content-Length", str(len(payload))))
        return _head(resp.status, resp.reason, fields), payload
    finally:
        conn.close()


def _head(status: int, reason: str, fields: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in fields), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _refusal(method: str, status: int, reason: str, code: str) -> bytes:
    """An S3 error answer with `code`, as the server would send it."""
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>injected by FaultyS3Proxy</Message>"
        "<RequestId>faulty-s3-proxy</RequestId></Error>"
    ).encode()
    payload = b"" if method == "HEAD" else xml
    fields = [("Content-Type", "application/xml"), ("Content-Length", str(len(payload)))]
    return _head(status, reason, fields) + payload
