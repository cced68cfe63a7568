"""`elacsym shell`: an SQL prompt over a storage root, as psql is over a server.

Statements end with `;`. On a terminal the prompt has line editing and a history kept in
~/.elacsym_history (readline); Ctrl-C drops the line being typed, or cancels the running
statement (57014), and Ctrl-D or \\q quits. Meta-commands: \\dt, \\d NS, \\timing, \\q, \\?.
Without a terminal, statements are read from standard input and the exit status says
whether all of them succeeded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from typing import Any, TextIO

from ..errors import ElacsymError, QueryCanceled
from ..schema import Column
from ..server.rows import returns_rows, tag
from ..sql import Connection
from ..sql.pg_catalog import pg_types
from .table import print_table

HISTORY = "~/.elacsym_history"
_HELP = """\\dt          list namespaces
\\d NS        describe namespace NS
\\timing      toggle printing each statement's time
\\q           quit
"""


class Shell:
    def __init__(self, con: Connection, out: TextIO | None = None) -> None:
        self.con = con
        self.out = out if out is not None else sys.stdout
        self.timing = False
        self.cur = con.cursor()  # one for the session: interrupt() reaches its statement

    # -- statements --------------------------------------------------------------------------

    def run(self, sql: str) -> bool:
        """Run one input and print what psql would; True when it succeeded. Ctrl-C while it
        runs cancels it."""
        cur = self.cur
        answer: dict[str, Any] = {}

        finished = threading.Event()

        def work() -> None:
            try:
                cur.execute(sql)
                outcome = cur.outcome
                if outcome is not None and returns_rows(outcome):
                    answer["rows"] = cur.fetchall()
            except BaseException as exc:
                answer["error"] = exc
            finally:
                finished.set()

        started = time.perf_counter()
        # Ctrl-C interrupts the statement instead of raising KeyboardInterrupt in this
        # thread (which could leave the worker running with nobody waiting for it).
        previous = signal.signal(signal.SIGINT, lambda *_: cur.interrupt())
        try:
            threading.Thread(target=work, name="elacsym-shell-statement", daemon=True).start()
            while not finished.wait(0.05):
                pass
        finally:
            signal.signal(signal.SIGINT, previous)
        return self._report(cur, answer, time.perf_counter() - started)

    def _report(self, cur: Any, answer: dict[str, Any], seconds: float) -> bool:
        error = answer.get("error")
        if isinstance(error, QueryCanceled):
            self.out.write("ERROR:  canceling statement due to user request\n")
        elif isinstance(error, ElacsymError):
            self._error(error)
        elif error is not None:
            raise error
        else:
            outcome = cur.outcome
            if "rows" in answer:
                names = [d[0] for d in cur.description]
                types = [d[1] for d in cur.description]
                print_table(names, answer["rows"], self.out, types=types)
            else:
                self.out.write(tag(outcome, max(outcome.rowcount, 0)) + "\n")
        if self.timing:
            self.out.write(f"Time: {seconds * 1000:.3f} ms\n")
        self.out.flush()
        return error is None

    def _error(self, exc: ElacsymError) -> None:
        self.out.write(f"ERROR:  {exc.message}\n")
        for label, text in (("DETAIL", exc.detail), ("HINT", exc.hint)):
            if text:
                self.out.write(f"{label}:  {text}\n")
        self.out.write(f"SQLSTATE: {exc.sqlstate}\n")

    # -- meta-commands -----------------------------------------------------------------------

    def meta(self, line: str) -> bool:
        """Run a backslash command; False when it asks to quit."""
        command, _, argument = line.strip().partition(" ")
        argument = argument.strip()
        if command == "\\q":
            return False
        if command == "\\timing":
            self.timing = not self.timing
            self.out.write(f"Timing is {'on' if self.timing else 'off'}.\n")
        elif command in ("\\dt", "\\d") and not argument:
            self._list()
        elif command == "\\d":
            self._describe(argument)
        elif command == "\\?":
            self.out.write(_HELP)
        else:
            self.out.write(f"invalid command {command}\nTry \\? for help.\n")
        self.out.flush()
        return True

    def _list(self) -> None:
        engine = self.con.database.engine
        rows = [(name, engine.stats(name)["rows"]) for name in engine.list_namespaces()]
        self.out.write("List of namespaces\n")
        print_table(["name", "rows"], rows, self.out)

    def _describe(self, argument: str) -> None:
        name = argument[1:-1] if argument.startswith('"') else argument.lower()
        engine = self.con.database.engine
        if name not in engine.list_namespaces():
            self.out.write(f'Did not find any namespace named "{argument}".\n')
            return
        schema = engine.namespace(name).snapshot().schema
        self.out.write(f'Namespace "{name}"\n')
        rows = [
            (c.name, _type_name(c), "not null" if schema.is_required(c) else "", c.default or "")
            for c in schema.visible
        ]
        print_table(["Column", "Type", "Nullable", "Default"], rows, self.out, footer=False)
        options = schema.options
        self.out.write(f"Primary key: {', '.join(schema.declared_key) or '(none)'}\n")
        text = ", ".join(options.full_text) or "(none)"
        self.out.write(f"Options: metric={options.metric}, full_text={text}\n\n")

    # -- the loop ----------------------------------------------------------------------------

    def interact(self) -> int:
        """The prompt on a terminal: line editing, history, Ctrl-C drops the line."""
        history = _start_history()
        # Ctrl-C must drop the line even when we were started with SIGINT ignored (a
        # background job of a non-interactive shell, nohup): Python keeps that disposition.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        buffer: list[str] = []
        while True:
            try:
                line = input("elacsym=> " if not buffer else "elacsym-> ")
            except KeyboardInterrupt:
                self.out.write("\n")
                buffer = []
                continue
            except EOFError:
                self.out.write("\n")
                break
            if not buffer and line.strip().startswith("\\"):
                if not self.meta(line):
                    break
                continue
            buffer.append(line)
            if line.rstrip().endswith(";"):
                statement, buffer = "\n".join(buffer), []
                try:
                    self.run(statement)
                except KeyboardInterrupt:  # before the statement started, or after it ended
                    self.out.write("\n")
        _save_history(history)
        return 0

    def read(self, lines: TextIO) -> int:
        """Statements from a pipe or file; 1 when one of them failed."""
        ok, buffer = True, []
        for line in lines:
            if not buffer and line.strip().startswith("\\"):
                if not self.meta(line):
                    break
                continue
            buffer.append(line)
            if line.rstrip().endswith(";"):
                ok = self.run("".join(buffer)) and ok
                buffer = []
        if "".join(buffer).strip():
            ok = self.run("".join(buffer)) and ok
        return 0 if ok else 1


def _type_name(col: Column) -> str:
    """The column's type as psql's \\d shows it: Postgres's names, vectors as pgvector's."""
    if col.is_vector:
        return f"vector({col.dim})"
    oid, modifier = pg_types.pg_type_of(col.type)
    name = pg_types.BY_OID[oid].name if oid in pg_types.BY_OID else col.type.lower()
    if oid == pg_types.NUMERIC and modifier > 0:
        return f"numeric({(modifier - 4) >> 16},{(modifier - 4) & 0xFFFF})"
    return name


def _start_history() -> str | None:
    try:
        import readline  # line editing for input(); absent on some builds
    except ImportError:
        return None
    path = os.path.expanduser(HISTORY)
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(1000)
    return path


def _save_history(path: str | None) -> None:
    if path is not None:
        import readline

        with contextlib.suppress(OSError):
            readline.write_history_file(path)
