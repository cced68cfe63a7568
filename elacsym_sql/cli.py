"""The `elacsym` command: the Postgres-wire server, an interactive SQL shell over a storage
root, and admin verbs."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tomllib
from collections.abc import Sequence
from typing import Any

from . import connect
from .errors import ElacsymError
from .server.frontend import DEFAULT_MAX_MESSAGE
from .server.options import ServerOptions, option_fields
from .sql import Connection

_MAX_WIDTH = 40


def _format_value(value: Any) -> str:
    text = "NULL" if value is None else str(value)
    return text if len(text) <= _MAX_WIDTH else text[: _MAX_WIDTH - 1] + "…"


def print_result(
    names: Sequence[str], rows: Sequence[Sequence[Any]], out: Any = sys.stdout
) -> None:
    """Rows as a psql-like aligned table."""
    cells = [[_format_value(v) for v in row] for row in rows]
    widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
    out.write(" " + " | ".join(n.center(w) for n, w in zip(names, widths, strict=True)) + "\n")
    out.write("-" + "-+-".join("-" * w for w in widths) + "-\n")
    for row in cells:
        out.write(" " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + "\n")
    out.write(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n\n")


def run_sql(con: Connection, sql: str, out: Any = sys.stdout) -> bool:
    """Run one input; print rows or the error. True when it succeeded."""
    try:
        cur = con.execute(sql)
    except ElacsymError as exc:
        out.write(f"ERROR:  {exc.message}\n")
        if exc.detail:
            out.write(f"DETAIL:  {exc.detail}\n")
        if exc.hint:
            out.write(f"HINT:  {exc.hint}\n")
        out.write(f"SQLSTATE: {exc.sqlstate}\n")
        return False
    if cur.description is None:
        out.write("OK\n")
    else:
        print_result([d[0] for d in cur.description], cur.fetchall(), out)
    return True


def shell(con: Connection) -> int:
    """Read statements ending in ';' and run them; \\q or end of input quits."""
    interactive = sys.stdin.isatty()
    buffer: list[str] = []
    ok = True
    while True:
        if interactive:
            sys.stdout.write("elacsym=> " if not buffer else "elacsym-> ")
            sys.stdout.flush()
        line = sys.stdin.readline()
        if not line or line.strip() in ("\\q", "quit", "exit"):
            break
        buffer.append(line)
        if line.rstrip().endswith(";"):
            ok = run_sql(con, "".join(buffer)) and ok
            buffer = []
    if "".join(buffer).strip():
        ok = run_sql(con, "".join(buffer)) and ok
    return 0 if ok or interactive else 1


def serve(con: Connection, args: argparse.Namespace) -> int:
    """Run the wire server until SIGTERM/SIGINT; running statements finish first."""
    from .server import Server, Users, memory, tls_context
    from .server.logs import configure as configure_logging

    listen = args.listen
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        print(f"elacsym: --listen wants host:port, not {listen!r}", file=sys.stderr)
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("elacsym: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    try:
        users = Users.load(args.users) if args.users else None
        user_dirs = user_read_dirs(args.users) if args.users else {}
        tls = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
        server = Server(
            con.database,
            host.strip("[]"),
            int(port),
            auth=args.auth,
            users=users,
            tls=tls,
            max_message_size=args.max_message_size,
            options=ServerOptions(**{o.name: getattr(args, o.name) for o in option_fields()}),
            allow_read=args.allow_read,
            user_read_dirs=user_dirs,
        )
    except (OSError, ValueError, ElacsymError) as exc:  # unreadable files; bad values
        print(f"elacsym: {exc}", file=sys.stderr)
        return 2

    configure_logging(server.options.log_format, server.options.log_level)
    memory.use_system_allocator()

    async def run() -> None:
        await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(
            f"elacsym_sql listening on {server.host}:{server.port} "
            f"(data {con.database.settings.data}, auth {args.auth}, "
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
        print(f"elacsym: cannot listen on {listen}: {exc}", file=sys.stderr)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="elacsym", description=__doc__)
    parser.add_argument(
        "--data",
        help="local directory or s3://bucket/prefix (default: $ELACSYM_DATA or ./elacsym-data)",
    )
    parser.add_argument("--s3-endpoint", help="S3 endpoint URL (default: $ELACSYM_S3_ENDPOINT)")
    verbs = parser.add_subparsers(dest="verb", required=True)
    srv = verbs.add_parser("serve", help="Postgres-wire server (psql, drivers, BI tools)")
    env = os.environ.get
    srv.add_argument(
        "--listen",
        default=env("ELACSYM_LISTEN", "127.0.0.1:5433"),
        help="host:port to listen on (default $ELACSYM_LISTEN or 127.0.0.1:5433)",
    )
    srv.add_argument(
        "--auth",
        default=env("ELACSYM_AUTH", "trust"),
        help="trust, password (cleartext) or scram (SCRAM-SHA-256); default $ELACSYM_AUTH or trust",
    )
    srv.add_argument(
        "--users", default=env("ELACSYM_USERS"), help='TOML file: [users] name = "password"'
    )
    srv.add_argument("--tls-cert", default=env("ELACSYM_TLS_CERT"), help="PEM certificate")
    srv.add_argument("--tls-key", default=env("ELACSYM_TLS_KEY"), help="PEM private key")
    srv.add_argument(
        "--max-message-size",
        type=int,
        default=env("ELACSYM_MAX_MESSAGE_SIZE", str(DEFAULT_MAX_MESSAGE)),
        help="largest protocol message a client may send after authentication, in bytes; "
        "a larger one is refused (54000) and the connection closed "
        f"(default $ELACSYM_MAX_MESSAGE_SIZE or {DEFAULT_MAX_MESSAGE}, 256 MiB)",
    )
    for option in option_fields():
        flag = "--" + option.name.replace("_", "-")
        default = env(f"ELACSYM_{option.name.upper()}", str(option.default))
        srv.add_argument(
            flag,
            type=int if option.type == "int" else str,
            default=default,
            help=f"{option.metadata['help']} (default ${'ELACSYM_' + option.name.upper()} "
            f"or {option.default!r})",
        )
    srv.add_argument(
        "--allow-read",
        action="append",
        metavar="DIR",
        default=[d for d in env("ELACSYM_ALLOW_READ", "").split(os.pathsep) if d],
        help="a directory clients may read files from (read_parquet, read_csv, COPY FROM); "
        "repeatable; per user: an [allow_read] table in --users (default $ELACSYM_ALLOW_READ, "
        "directories separated by ':'; else clients reach no file of the host)",
    )
    pw = verbs.add_parser("scram-verifier", help="print a SCRAM-SHA-256 verifier for users.toml")
    pw.add_argument("password", nargs="?", help="the password (default: read from stdin)")
    sh = verbs.add_parser("shell", help="interactive SQL prompt")
    sh.add_argument("-c", "--command", help="run this SQL and exit")
    for verb, text in (
        ("stats", "namespace statistics as JSON"),
        ("compact", "fold the WAL tail, merge small segments, collect garbage"),
    ):
        verbs.add_parser(verb, help=text).add_argument("namespace")
    args = parser.parse_args(argv)
    if args.verb == "scram-verifier":
        from .server import Verifier

        password = args.password if args.password is not None else sys.stdin.readline()
        print(Verifier.from_password(password.rstrip("\n")).text())
        return 0
    try:
        con = connect(args.data, s3_endpoint=args.s3_endpoint)
    except ElacsymError as exc:
        print(f"elacsym: {exc}", file=sys.stderr)
        return 2
    with con:
        if args.verb == "serve":
            return serve(con, args)
        engine = con.database.engine
        if args.verb == "shell":
            if args.command:
                return 0 if run_sql(con, args.command) else 1
            return shell(con)
        try:
            if args.verb == "compact":
                engine.fold(args.namespace)
                engine.compact(args.namespace, force=True)
                engine.collect_garbage(args.namespace)
            print(json.dumps(engine.stats(args.namespace), indent=2))
        except ElacsymError as exc:
            print(f"elacsym: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
