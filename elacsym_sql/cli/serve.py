"""`elacsym serve`: the Postgres-wire server until SIGTERM/SIGINT; running statements
finish first."""

from __future__ import annotations

import asyncio
import signal
import sys
import tomllib

from ..errors import ElacsymError
from ..server import Server, Users, memory, tls_context
from ..server.logs import configure as configure_logging
from ..server.options import ServerOptions
from ..sql import Connection


def serve(con: Connection, options: ServerOptions) -> int:
    host, port = options.address()
    try:
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
        )
    except (OSError, ValueError, ElacsymError) as exc:  # unreadable files; bad values
        print(f"elacsym: {exc}", file=sys.stderr)
        return 2

    configure_logging(options.log_format, options.log_level)
    memory.use_system_allocator()

    async def run() -> None:
        await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(
            f"elacsym_sql listening on {server.host}:{server.port} "
            f"(data {con.database.settings.data}, auth {options.auth}, "
            f"tls {'on' if tls else 'off'})",
            flush=True,
        )
        serving = asyncio.create_task(server.serve_forever())
        await stop.wait()
        print("elacsym_sql shutting down: finishing running statements", flush=True)
        await server.shutdown()
        serving.cancel()

    try:
        asyncio.run(run())
    except OSError as exc:
        print(f"elacsym: cannot listen on {options.listen}: {exc}", file=sys.stderr)
        return 1
    return 0


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
