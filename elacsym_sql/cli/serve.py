"""`elacsym serve`: the Postgres-wire server until SIGTERM/SIGINT; running statements
finish first."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import tomllib
from collections.abc import Callable

from ..cluster import Address, ClusterNode
from ..engine import EngineApi
from ..errors import ElacsymError
from ..http import HttpServer
from ..server import Server, Users, memory, tls_context
from ..server.logs import configure as configure_logging
from ..server.logs import say
from ..server.options import ServerOptions
from ..server.worker_slot import WorkerSlot
from ..sql import Connection
from .workers import WorkerSpec, sibling_id


def serve(
    con: Connection,
    options: ServerOptions,
    http_explicit: bool = True,
    spec: WorkerSpec | None = None,
) -> int:
    """`http_explicit`: --http was given (its address must be bound, not left off). `spec`:
    this process is one of the workers of `serve --workers N` (supervisor.py)."""
    host, port = options.address()
    fmt = options.log_format
    try:
        settings = con.database.settings
        node = ClusterNode(con.database.engine, settings) if settings.clustered else None
        users = Users.load(options.users) if options.users else None
        user_dirs = user_read_dirs(options.users) if options.users else {}
        tls = tls_context(options.tls_cert, options.tls_key) if options.tls_cert else None
        server = Server(
            con.database,
            host,
            port,
            auth=options.auth,  # type: ignore[arg-type]  # Server checks it is an AuthMode
            users=users,
            tls=tls,
            max_message_size=options.max_message_size,
            options=options,
            allow_read=options.allow_read,
            user_read_dirs=user_dirs,
            slot=_slot(spec, node),
        )
    except (OSError, ValueError, ElacsymError) as exc:  # unreadable files; bad values
        say(fmt, "bad_setting", str(exc), trouble=True)
        return 2

    http = _http_server(con, options, lambda: con.database.cluster, workers=spec is not None)
    configure_logging(options.log_format, options.log_level)
    memory.use_system_allocator()

    shared_pg, shared_http = _inherited(spec)

    async def run() -> None:
        await server.start(shared_pg)
        http_note = await _start_http(http, http_explicit, fmt, shared_http)
        if node is not None:
            # Peers reach a worker at its private ports; the shared ones reach any worker.
            pg_port = server.private_port or server.port
            http_port = (http.private_port or http.port) if http and http.started else None
            await asyncio.to_thread(node.start, _advertised(server.host, pg_port, http_port))
            # Members reach each other's wire ports as the client's user: trusted, or with a
            # password made from the cluster secret (decisions 0058, 0084).
            forward = options.auth == "trust" or bool(settings.cluster_secret)
            con.database.join_cluster(node, forward_writes=forward)
            http_note += f", cluster member {node.node_id}"
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if spec is None:
            say(
                fmt,
                "listening",
                f"elacsym_sql listening on {server.host}:{server.port} "
                f"(data {con.database.settings.data}, auth {options.auth}, "
                f"tls {'on' if tls else 'off'}), {http_note}",
                host=server.host,
                port=server.port,
            )
        else:

            def orphaned() -> None:  # the parent is gone (end of file): stop too
                loop.remove_reader(spec.lifeline_fd)
                stop.set()

            loop.add_reader(spec.lifeline_fd, orphaned)
            _report_ready(spec, node, server.private_port)
        serving = asyncio.create_task(server.serve_forever())
        await stop.wait()
        if spec is None:
            say(fmt, "shutting_down", "elacsym_sql shutting down: finishing running statements")
        if http is not None and http.started:
            await http.stop()
        await server.shutdown()
        serving.cancel()
        if node is not None:
            await asyncio.to_thread(node.stop)  # its namespaces move to the others at once

    try:
        asyncio.run(run())
    except OSError as exc:
        say(fmt, "cannot_listen", f"cannot listen: {exc}", trouble=True)
        return 1
    return 0


def _http_server(
    con: Connection,
    options: ServerOptions,
    cluster: Callable[[], ClusterNode | None],
    workers: bool = False,
) -> HttpServer | None:
    """The HTTP/JSON API on the same engine as the wire server, or None when --http off."""
    address = options.http_address()
    if address is None:
        return None
    api = EngineApi(con.database.engine)
    limit = options.http_max_body_bytes
    return HttpServer(api, *address, max_body_bytes=limit, cluster=cluster, workers=workers)


def _advertised(host: str, pg_port: int, http_port: int | None) -> Address:
    """Where other members reach this one: the listen address, or the host's name when
    listening on every interface."""
    if host in ("", "0.0.0.0", "::"):
        host = socket.gethostname()
    return Address(host, pg_port, http_port)


def _slot(spec: WorkerSpec | None, node: ClusterNode | None) -> WorkerSlot | None:
    """This worker's place among the host's workers: where each sibling's private wire port
    is, as its heartbeat advertises it (a cancel request is passed on there)."""
    if spec is None or node is None:
        return None

    def address_of(index: int) -> tuple[str, int] | None:
        member = node.member(sibling_id(node.node_id, index))
        return None if member is None or member.address is None else member.address.pg_pair

    return WorkerSlot(spec.index, spec.count, address_of)


def _inherited(spec: WorkerSpec | None) -> tuple[socket.socket | None, socket.socket | None]:
    """The listeners a worker shares with its siblings, from the parent's file descriptors."""
    if spec is None:
        return None, None
    http = socket.socket(fileno=spec.http_fd) if spec.http_fd is not None else None
    return socket.socket(fileno=spec.pg_fd), http


def _report_ready(spec: WorkerSpec, node: ClusterNode | None, private_port: int | None) -> None:
    """Tell the parent this worker serves (one JSON line on its pipe)."""
    line = {"index": spec.index, "node_id": node.node_id if node else None, "pg": private_port}
    os.write(spec.ready_fd, json.dumps(line).encode() + b"\n")
    os.close(spec.ready_fd)


async def _start_http(
    http: HttpServer | None, explicit: bool, log_format: str, shared: socket.socket | None = None
) -> str:
    """Start the HTTP API; a busy default port leaves it off with a warning rather than
    failing a server nobody asked HTTP of (decision 0040). `shared`: a worker's listener."""
    if http is None:
        return "HTTP API off"
    try:
        await http.start(shared)
    except OSError as exc:
        if explicit:
            raise
        say(log_format, "http_off", f"HTTP API off: {exc} (give --http)", trouble=True)
        return "HTTP API off"
    return f"HTTP API on {http.host}:{http.port}"


def user_read_dirs(path: str) -> dict[str, list[str]]:
    """The users file's `[allow_read]` table: user = ["dir", ...], directories that user's
    sessions may read files from besides --allow-read's."""
    with open(path, "rb") as f:
        table = tomllib.load(f).get("allow_read", {})
    if not isinstance(table, dict) or not all(
        isinstance(v, list) and all(isinstance(d, str) for d in v) for v in table.values()
    ):
        raise ValueError(f'{path}: wants an [allow_read] table of user = ["dir", ...] entries')
    return table
