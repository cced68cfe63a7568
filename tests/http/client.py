"""A small HTTP/JSON client over http.client (one keep-alive connection per Client)."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def raw(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        try:
            self._conn.request(method, path, body=body, headers=headers or {})
            resp = self._conn.getresponse()
        except (ConnectionError, http.client.HTTPException):
            self._conn.close()  # the server closed it (e.g. after a 413): once more, anew
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self._conn.request(method, path, body=body, headers=headers or {})
            resp = self._conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        status, payload, found = self.raw(method, path, data, headers)
        assert found.get("content-type", "").startswith("application/json"), (status, payload)
        return status, json.loads(payload)
