"""The listening socket, the sessions it accepts, the worker threads they share, and a
graceful shutdown: stop accepting, let running statements finish, then close."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import ssl
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import get_args

from ..metrics import CONNECTIONS
from ..sql import Database
from . import memory
from .auth import AuthMode, ForwardedLogins, Users
from .connection_slots import SharedSlots
from .frontend import DEFAULT_MAX_MESSAGE, SMALL_MESSAGE
from .login_guard import LoginGuard
from .options import ServerOptions
from .session import Session
from .shared_login_guard import SharedLoginGuard
from .worker_slot import WorkerSlot, backend_pids, forward_cancel, worker_of

log = logging.getLogger("elacsym.server")


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server-side TLS context from a PEM certificate (chain) and its private key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def check_options(auth: str, has_users: bool, max_message_size: int) -> None:
    """The server's own options, checked (ValueError naming the flag) by the Server and by
    `serve --workers N` before it starts any worker."""
    if auth not in get_args(AuthMode):
        raise ValueError(f"--auth is one of {', '.join(get_args(AuthMode))}, not {auth!r}")
    if auth != "trust" and not has_users:
        raise ValueError(f"--auth {auth} needs users (--users users.toml)")
    if max_message_size < SMALL_MESSAGE:  # below it, ordinary messages could not pass
        raise ValueError(f"--max-message-size is at least {SMALL_MESSAGE} bytes")


class Server:
    def __init__(
        self,
        database: Database,
        host: str = "127.0.0.1",
        port: int = 5433,
        auth: AuthMode = "trust",
        users: Users | None = None,
        tls: ssl.SSLContext | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE,
        options: ServerOptions | None = None,
        allow_read: Sequence[str] = (),
        user_read_dirs: Mapping[str, Sequence[str]] | None = None,
        slot: WorkerSlot | None = None,
    ) -> None:
        """`allow_read`: directories every client may read files from (read_parquet, COPY
        FROM); `user_read_dirs`: more of them per user. Nothing else of the host's files is
        reachable: the database is locked down for wire clients (sql/session/sandbox.py).
        `slot`: this process is one of the host's workers (worker_slot.py)."""
        check_options(auth, users is not None, max_message_size)
        self.max_message_size = max_message_size  # after authentication; over it: 54000
        self.options = options if options is not None else ServerOptions()
        if self.options.memory_limit:
            database.set_memory_limit(self.options.memory_limit)
        self.auth: AuthMode = auth
        self.users = users
        secret = database.settings.cluster_secret
        # Members forwarding their clients' writes log in with the cluster secret (0084).
        self.forwarded_logins = ForwardedLogins(secret) if secret and auth != "trust" else None
        self.tls = tls  # answers SSLRequest with 'S' when set
        self.database = database
        self.user_read_dirs = dict(user_read_dirs or {})
        database.serve_wire(allow_read, [d for ds in self.user_read_dirs.values() for d in ds])
        self.host = host
        self.port = port
        threads = self.options.statement_threads
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="elacsym-sql")
        # Sessions of members forwarding their clients' writes run on threads of their own:
        # a member's threads may all be busy waiting on the owners they forwarded to, and
        # if the owners' forwarded statements had to wait for those same kind of threads,
        # members forwarding to each other would wait on each other (issue 11).
        self.forwarded_pool = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="elacsym-forwarded"
        )
        self.closing = False
        self._sessions: dict[int, Session] = {}
        self.trims = memory.TrimSchedule(self.pool)  # freed memory given back (memory.py)
        self._admitted = 0  # sessions past their startup packet: max_connections counts these
        self._shared_slots: SharedSlots | None = None  # as one of several workers
        self._slot_of: dict[int, int] = {}  # session pid -> its shared slot
        self.login_guard: LoginGuard | SharedLoginGuard = LoginGuard(
            self.options.auth_failure_limit, self.options.seconds("auth_failure_window")
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self.slot = slot
        self._pids = backend_pids(slot.index) if slot is not None else itertools.count(1000)
        self._servers: list[asyncio.base_events.Server] = []
        self.private_port: int | None = None  # beside a shared listener: this worker's own

    def next_pid(self) -> int:
        return next(self._pids)

    async def start(self, shared: socket.socket | None = None) -> None:
        """Listen on the host and port, or serve `shared`, a listener this process shares
        with the host's other workers, and a private port of its own for peers."""
        if shared is None:
            self._servers = [await asyncio.start_server(self._accept, self.host, self.port)]
        else:
            own = await asyncio.start_server(self._accept, self.host, 0)
            self._servers = [await asyncio.start_server(self._accept, sock=shared), own]
            self.private_port = own.sockets[0].getsockname()[1]
        self.port = self._servers[0].sockets[0].getsockname()[1]  # the real one when 0 was asked
        if shared is not None:  # max_connections and failed logins count every worker's
            cache, options = self.database.settings.cache_dir, self.options
            self._shared_slots = SharedSlots(
                os.path.join(cache, f"connections-{self.port}"), options.max_connections
            )
            self.login_guard = SharedLoginGuard(
                os.path.join(cache, f"logins-{self.port}"), options.auth_failure_limit,
                options.seconds("auth_failure_window"),
            )  # fmt: skip

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.closing:
            writer.close()
            return
        session = Session(self, reader, writer)
        self._sessions[session.pid] = session
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        CONNECTIONS.labels("wire").inc()
        try:
            await session.serve()
        except Exception:
            log.exception("session %d failed", session.pid)
        finally:
            CONNECTIONS.labels("wire").dec()
            if task is not None:
                self._tasks.discard(task)
            if not self.closing:  # the session and its DuckDB cursor are closed now
                self.trims.request(asyncio.get_running_loop())

    def admit(self, session: Session) -> bool:
        """Count a session that sent its startup packet; False past max_connections (of
        this host's workers together, connection_slots.py)."""
        if self._admitted >= self.options.max_connections:
            return False
        if self._shared_slots is not None:
            slot = self._shared_slots.take()
            if slot is None:
                return False
            self._slot_of[session.pid] = slot
        self._admitted += 1
        session.admitted = True
        return True

    def forget(self, session: Session) -> None:
        self._sessions.pop(session.pid, None)
        if session.admitted:
            session.admitted = False
            self._admitted -= 1
            if self._shared_slots is not None:
                self._shared_slots.give_back(self._slot_of.pop(session.pid))

    async def cancel_request(self, pid: int, secret: int) -> None:
        """A CancelRequest: handled here, or passed on to the worker of this host that
        handed out `pid` (the shared port may have given the request to any of them)."""
        index = worker_of(pid)
        if self.slot is None or index == self.slot.index:
            self.cancel(pid, secret)
        elif index < self.slot.count and (address := self.slot.address_of(index)) is not None:
            await forward_cancel(address, pid, secret)

    def cancel(self, pid: int, secret: int) -> None:
        """CancelRequest: stop the session's running statement, if the key matches."""
        session = self._sessions.get(pid)
        if session is not None and session.secret == secret and not session.idle.is_set():
            session.clock.cancel("user request")

    async def serve_forever(self) -> None:
        assert self._servers
        await asyncio.gather(*(server.serve_forever() for server in self._servers))

    async def shutdown(self, grace_seconds: float = 30.0) -> None:
        """Stop accepting; sessions finish the statement they run, then are closed."""
        self.closing = True
        self.trims.cancel()
        for server in self._servers:
            server.close()
        for session in list(self._sessions.values()):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(session.idle.wait(), grace_seconds)
            session.writer.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace_seconds)
        self.pool.shutdown(wait=True)
        self.forwarded_pool.shutdown(wait=True)
