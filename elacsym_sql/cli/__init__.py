"""The `elacsym` command: the Postgres-wire server, an SQL shell, imports and admin verbs
over a storage root. Settings (--data, --cache-bytes, ...) go before or after the command;
they also come from $ELACSYM_<NAME> and a TOML file (`elacsym config` shows them all)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import ElacsymError, UndefinedTable
from ..sql import Connection, Database
from .flags import add_flags
from .settings import SERVER_FIELDS, SETTING_FIELDS, Loaded, load, print_config
from .workers import WorkerSpec, for_worker


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group(
        "settings (before or after the command; also $ELACSYM_<NAME> and the config file)"
    )
    group.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="TOML settings file (default $ELACSYM_CONFIG, else ./config.toml when present)",
    )
    add_flags(group, SETTING_FIELDS)
    parser = argparse.ArgumentParser(prog="elacsym", description=__doc__, parents=[common])
    parser.add_argument("--version", action="version", version=f"elacsym {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    def verb(name: str, text: str) -> argparse.ArgumentParser:
        return verbs.add_parser(name, help=text, description=text, parents=[common])

    srv = verb("serve", "Postgres-wire server (psql, drivers, BI tools)")
    add_flags(
        srv.add_argument_group("server options (also $ELACSYM_<NAME>, config file)"), SERVER_FIELDS
    )
    sh = verb("shell", "interactive SQL prompt (\\? for its commands)")
    sh.add_argument("-c", "--command", help="run this SQL and exit")
    imp = verb("import", "load Parquet, CSV or JSONL files into a namespace")
    imp.add_argument("namespace")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--key", help="primary key column of a new namespace (default: id, if any)")
    imp.add_argument(
        "--vector",
        action="append",
        default=[],
        metavar="COL",
        help="a column of float lists to store as a vector (repeatable)",
    )
    imp.add_argument(
        "--full-text",
        default="",
        metavar="COLS",
        help="comma-separated text columns to index for text_search",
    )
    imp.add_argument("--metric", default="cosine", help="cosine, l2 or dot (default cosine)")
    imp.add_argument("--batch-rows", type=int, default=50_000, help="rows per atomic write")
    bench = verb(
        "bench", "recall against q/s (and nDCG@10 of judged queries) of a namespace, with a plot"
    )
    bench.add_argument("namespace")
    bench.add_argument("--column", help="the vector column (default: the only one)")
    bench.add_argument("--queries", type=int, default=200, help="vectors sampled as queries")
    bench.add_argument("-k", type=int, default=10, help="neighbours per query (recall@k)")
    bench.add_argument(
        "--ef",
        type=_ints,
        default=[16, 32, 64, 128, 256],
        help="comma-separated ef values to measure (default 16,32,64,128,256)",
    )
    bench.add_argument(
        "--judged", metavar="FILE", help='JSON Lines of judged queries: {"id", "text", "vector"}'
    )
    bench.add_argument("--qrels", metavar="FILE", help="TSV: query id, document id, relevance")
    bench.add_argument(
        "--out",
        default="elacsym-bench",
        metavar="DIR",
        help="where bench.json, bench.png and bench.svg go",
    )
    verb("ls", "list namespaces with their rows")
    verb("drop", "drop a namespace and its data").add_argument("namespace")
    verb("stats", "namespace statistics as JSON").add_argument("namespace")
    verb("compact", "fold the WAL tail, merge small segments, collect garbage").add_argument(
        "namespace"
    )
    verb("config", "print every setting, its value and where it came from")
    pw = verb("scram-verifier", "print a SCRAM-SHA-256 verifier for users.toml")
    pw.add_argument("password", nargs="?", help="the password (default: read from stdin)")
    return parser


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, where a reader gone away is handled, not at exit
        return code
    except BrokenPipeError:  # `elacsym stats ns | head`: the reader left; nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 141  # 128 + SIGPIPE, as a shell reports it


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.verb == "scram-verifier":
        from ..server import Verifier

        password = args.password if args.password is not None else sys.stdin.readline()
        print(Verifier.from_password(password.rstrip("\n")).text())
        return 0
    try:
        loaded = load(args)
        if args.verb == "config":
            print_config(loaded, sys.stdout)
            return 0
        if args.verb == "serve":
            spec = WorkerSpec.from_env(os.environ)
            if spec is not None:  # one of the workers of `serve --workers N`
                loaded = for_worker(loaded, spec)
            elif loaded.server.workers > 1:
                from .supervisor import supervise

                explicit = loaded.resolved.sources["http"] != "default"
                return supervise(loaded, sys.argv[1:] if argv is None else argv, explicit)
        con = Connection(Database(loaded.settings))
    except (ElacsymError, ValueError) as exc:
        print(f"elacsym: {exc}", file=sys.stderr)
        return 2
    with con:
        try:
            return run_verb(con, args, loaded)
        except ElacsymError as exc:
            print(f"elacsym: {exc.message} (SQLSTATE {exc.sqlstate})", file=sys.stderr)
            return 1


def run_verb(con: Connection, args: argparse.Namespace, loaded: Loaded) -> int:
    engine = con.database.engine
    if args.verb == "serve":
        from .serve import serve

        explicit = loaded.resolved.sources["http"] != "default"
        return serve(con, loaded.server, explicit, WorkerSpec.from_env(os.environ))
    if args.verb == "shell":
        from .shell import Shell

        shell = Shell(con)
        if args.command:
            return 0 if shell.run(args.command) else 1
        return shell.interact() if sys.stdin.isatty() else shell.read(sys.stdin)
    if args.verb == "import":
        from .importer import run_import

        return run_import(con, args)
    if args.verb == "bench":
        from .bench import run_bench

        return run_bench(con, args)
    if args.verb == "ls":
        from .shell import Shell

        Shell(con).meta("\\dt")
        return 0
    if args.verb == "drop":  # through SQL: its checks (a referencing foreign key) apply
        from .sql_text import quote

        if args.namespace not in engine.list_namespaces():
            raise UndefinedTable(f'namespace "{args.namespace}" does not exist')
        con.execute(f"DROP TABLE {quote(args.namespace)}")
        print(f"dropped {args.namespace}")
        return 0
    if args.verb == "compact":  # at the namespace's owner when members serve this root (0090)
        if con.database.forwarding.node is None:
            con.database.observe_cluster()
        print(json.dumps(con.database.compact(args.namespace), indent=2))
        return 0
    print(json.dumps(engine.stats(args.namespace), indent=2))
    return 0
