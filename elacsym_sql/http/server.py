"""The HTTP API served by uvicorn on the caller's event loop (beside the wire server), or on
a thread of its own (tests, embedding)."""

from __future__ import annotations

import asyncio
import socket
import threading
import weakref
from collections.abc import Callable

import uvicorn

from ..cluster import ClusterNode
from ..engine import EngineApi
from ..host import listening_socket
from ..metrics import CONNECTIONS
from .app import DEFAULT_MAX_BODY_BYTES, create_app

DEFAULT_HTTP = "127.0.0.1:3000"
KEEP_ALIVE_SECONDS = 75  # as nginx's default

# uvicorn keeps each server's open connections; /metrics counts them when scraped.
_servers: weakref.WeakSet[uvicorn.Server] = weakref.WeakSet()
CONNECTIONS.labels("http").set_function(
    lambda: sum(len(s.server_state.connections) for s in list(_servers))
)


def parse_address(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """`host:port`, `[v6]:port` or a bare port."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"wants host:port or a port, not {text!r}")
    return host.strip("[]") or default_host, int(port)


class HttpServer:
    def __init__(
        self,
        api: EngineApi,
        host: str = "127.0.0.1",
        port: int = 3000,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        cluster: Callable[[], ClusterNode | None] = lambda: None,
        workers: bool = False,
    ) -> None:
        """`workers`: one of the processes of `serve --workers N` (see create_app)."""
        self.host = host
        self._port = port
        # log_config=None: the process's logging stays as the server configured it.
        config = uvicorn.Config(
            create_app(api, max_body_bytes, cluster, workers),
            host=host,
            port=port,
            lifespan="off",
            access_log=False,
            log_config=None,
            log_level="warning",
            # API clients keep connections between requests; uvicorn's 5 s drops them early.
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        self._server = uvicorn.Server(config)
        _servers.add(self._server)
        self._sockets: list[socket.socket] = []  # the listened one first, then a private one
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return self._sockets[0].getsockname()[1] if self._sockets else self._port

    @property
    def private_port(self) -> int | None:
        """A port of this process alone, beside a listener shared with other workers."""
        return self._sockets[1].getsockname()[1] if len(self._sockets) > 1 else None

    @property
    def started(self) -> bool:
        return self._task is not None

    async def start(self, shared: socket.socket | None = None) -> None:
        """Bind (OSError when the address is taken) and start answering on this loop.
        `shared`: a listener this process shares with the host's other workers (bound by
        their parent), served together with a private port of its own for peers."""
        if shared is not None:
            self._sockets = [shared, listening_socket(self.host, 0)]
        else:
            try:
                self._sockets = [listening_socket(self.host, self._port)]
            except OSError as exc:
                message = f"cannot listen on {self.host}:{self._port}: {exc}"
                raise OSError(exc.errno, message) from None
        config = self._server.config
        if not config.loaded:
            config.load()
        self._server.lifespan = config.lifespan_class(config)
        await self._server.startup(sockets=self._sockets)
        self._task = asyncio.create_task(self._server.main_loop())

    async def stop(self) -> None:
        """Stop accepting, let running requests finish, close."""
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        await self._server.shutdown(sockets=self._sockets or None)


class BackgroundHttpServer:
    """An HttpServer on an event loop thread of its own."""

    def __init__(self, api: EngineApi, host: str = "127.0.0.1", port: int = 0, **kw: int) -> None:
        self.server = HttpServer(api, host, port, **kw)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> BackgroundHttpServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(30)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
