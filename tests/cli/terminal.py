"""A process on a pseudo-terminal, for tests of what people see on a terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import time


class Terminal:
    """A process on a pseudo-terminal (its controlling terminal: Ctrl-C reaches it as
    SIGINT), read until what a test expects appears."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its terminal
            os.execvpe(argv[0], argv, env)
        self.seen = ""  # everything read so far
        self.pos = 0  # where the next expect starts looking

    def expect(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            found = regex.search(self.seen, self.pos)
            if found:
                self.pos = found.end()
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} not seen; output:\n{self.seen[self.pos :]}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the child ended
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{pattern!r} not seen before exit:\n{self.seen}")
                self.seen += chunk.decode(errors="replace").replace("\r\n", "\n")

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def line(self, text: str) -> None:
        self.send(text + "\r")

    def wait(self, timeout: float = 90) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with_ended, status = os.waitpid(self.pid, os.WNOHANG)
            if with_ended:
                return os.waitstatus_to_exitcode(status)
            try:  # keep the pty drained so the child is not blocked writing
                if select.select([self.fd], [], [], 0.1)[0]:
                    self.seen += os.read(self.fd, 65536).decode(errors="replace")
            except OSError:
                pass
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"the shell did not exit; output:\n{self.seen}")

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)
