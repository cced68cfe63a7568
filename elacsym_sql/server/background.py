"""A server on its own event loop thread: for tests, and for embedding beside other work."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ..sql import Database
from .listener import Server


class BackgroundServer:
    def __init__(
        self, database: Database, host: str = "127.0.0.1", port: int = 0, **options: Any
    ) -> None:
        """`options`: Server's keywords (auth, users, tls, workers)."""
        self.server = Server(database, host, port, **options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> BackgroundServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(30)
        return self

    def stop(self, grace_seconds: float = 10.0) -> None:
        fut = asyncio.run_coroutine_threadsafe(self.server.shutdown(grace_seconds), self._loop)
        fut.result(grace_seconds + 30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
