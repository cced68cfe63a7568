"""The README's examples run as written, in order, in a fresh directory: Python blocks in
one interpreter (sharing names, as a reader's session would), SQL blocks through the
connection the Python example opened (`$n` bound to the values their comments describe),
shell blocks by bash with `elacsym` meaning this checkout, against a server this test
starts (its ports replace the README's 5433 and 3000). A block preceded by `<!-- not run
by tests/test_readme.py: why -->` is not run; its `elacsym` command lines are still
checked against the command's parser. Every link of the README leads into the repository."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from elacsym_sql.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
_BLOCK = re.compile(r"(<!-- not run by tests/test_readme\.py:[^>]*-->\n)?```(\w+)\n(.*?)```", re.S)
VECTOR = [0.1, 0.2, 0.3, 0.4]
PARAMS = {1: VECTOR, 2: [0.4, 0.3, 0.2, 0.1], 3: "object storage"}  # as the comments say


@dataclass
class Block:
    language: str
    text: str
    run: bool
    line: int  # where it starts in README.md


def blocks() -> list[Block]:
    text = README.read_text()
    return [
        Block(m.group(2), m.group(3), m.group(1) is None, text.count("\n", 0, m.start()) + 1)
        for m in _BLOCK.finditer(text)
    ]


def _free_ports(n: int) -> list[int]:
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


@pytest.fixture
def fresh(tmp_path, monkeypatch) -> dict[str, str]:
    """A fresh working directory, `elacsym` on PATH, and the environment for processes."""
    for name in list(os.environ):
        if name.startswith("ELACSYM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ELACSYM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ELACSYM_INDEXER", "false")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "elacsym"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m elacsym_sql.cli "$@"\n')
    wrapper.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


@contextlib.contextmanager
def server(env: dict[str, str]) -> Iterator[tuple[int, int]]:
    """`elacsym serve` over ./elacsym-data: (wire port, HTTP port)."""
    wire, http = _free_ports(2)
    command = ["elacsym", "serve", "--listen", str(wire), "--http", str(http)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert "listening on" in line, line + proc.stderr.read()
        yield wire, http
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_readme_examples_run_as_written(fresh, capsys):
    found = blocks()
    assert {b.language for b in found} == {"python", "sql", "sh"}
    names: dict[str, object] = {}
    with server(fresh) as (wire, http):
        for block in found:
            where = f"README.md line {block.line}"
            if not block.run:
                _check_command_lines(block, where)
                continue
            text = block.text.replace("5433", str(wire)).replace(
                "localhost:3000", f"127.0.0.1:{http}"
            )
            if block.language == "python":
                exec(compile(text, where, "exec"), names)
            elif block.language == "sql":
                _run_sql(names["con"], text, where)
            else:
                run = subprocess.run(["bash", "-eo", "pipefail", "-c", text], env=fresh,
                                     capture_output=True, text=True, timeout=300)  # fmt: skip
                assert run.returncode == 0, f"{where}:\n{run.stdout}{run.stderr}"
                assert '"error"' not in run.stdout, f"{where}:\n{run.stdout}"
                print(run.stdout)
    names["con"].close()  # the README's connection, still open at its end
    out = capsys.readouterr().out
    assert "[(1, 19.0)]" in out  # what the Python example says it prints
    assert '"namespace":"my_docs","created":true' in out.replace(" ", "")  # the curl lines
    assert "cache_bytes" in out and "8GB" in out and "--cache-bytes" in out
    assert " 4 | Imported" in out  # the imported row, found by text_search


def _run_sql(con, text: str, where: str) -> None:
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    body = re.sub(r"--[^\n']*$", "", body, flags=re.M)  # comments after a statement
    for statement in (s.strip() for s in body.split(";")):  # no example has ';' in a string
        if not statement:
            continue
        used = [int(n) for n in re.findall(r"\$(\d+)", statement)]
        params = [PARAMS[n] for n in range(1, max(used) + 1)] if used else None
        cur = con.execute(statement, params)
        if statement.upper().startswith(("SELECT", "WITH")):
            assert cur.fetchall(), f"{where}: no rows from {statement}"


def _check_command_lines(block: Block, where: str) -> None:
    """`elacsym ...` lines of a block that is not run still use real commands and flags."""
    for command in block.text.replace("\\\n", " ").splitlines():
        words = shlex.split(command, comments=True)
        if words and words[0] == "elacsym":
            build_parser().parse_args(words[1:])  # SystemExit(2) on an unknown flag or verb


def test_readme_links_lead_into_the_repository():
    text = README.read_text()
    targets = re.findall(r"\]\(([^)#]+)", text)  # markdown links
    targets += re.findall(r"`((?:docs|bench|tests|elacsym_sql)/[^`\s]+)`", text)  # named paths
    assert targets
    for target in targets:
        if target.startswith("http"):
            continue
        if "*" in target:  # a pattern: it names some files
            assert list(REPO.glob(target)), target
            continue
        path = (REPO / target).resolve()
        assert path.is_relative_to(REPO) and path.exists(), target
    assert "../" not in re.sub(r"```.*?```", "", text, flags=re.S)
