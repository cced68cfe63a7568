"""Progress of long work: a bar redrawn in place on a terminal (rows, rows/s, ETA), plain
lines at most every few seconds otherwise (logs, pipes, CI)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_BAR = 24
_LINE_SECONDS = 5.0  # without a terminal: a line this often at most
_REDRAW_SECONDS = 0.1


class Progress:
    def __init__(self, label: str, out: TextIO | None = None, tty: bool | None = None) -> None:
        self.label = label
        self.out = out if out is not None else sys.stderr
        self.tty = self.out.isatty() if tty is None else tty
        self.started = time.monotonic()
        self._shown = 0.0  # when the last line or redraw went out

    def update(self, rows: int, fraction: float | None) -> None:
        """`rows` done so far; `fraction` of the whole work done (None: unknown)."""
        now = time.monotonic()
        if now - self._shown < (_REDRAW_SECONDS if self.tty else _LINE_SECONDS):
            return
        self._shown = now
        text = self._status(rows, fraction, now)
        if self.tty:
            self.out.write("\r\x1b[K" + text)
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def done(self, rows: int) -> None:
        seconds = time.monotonic() - self.started
        if self.tty:
            self.out.write("\r\x1b[K")
        rate = rows / seconds if seconds > 0 else 0.0
        noun = "row" if rows == 1 else "rows"
        self.out.write(f"{self.label}: {rows:,} {noun} in {seconds:.1f} s ({rate:,.0f} rows/s)\n")
        self.out.flush()

    def _status(self, rows: int, fraction: float | None, now: float) -> str:
        seconds = now - self.started
        rate = rows / seconds if seconds > 0 else 0.0
        text = f"{self.label}: {rows:,} rows, {rate:,.0f} rows/s"
        if fraction is None or not 0 < fraction <= 1:
            return text
        eta = seconds * (1 - fraction) / fraction
        bar = "#" * round(_BAR * fraction)
        prefix = f"[{bar:<{_BAR}}] {fraction:4.0%} " if self.tty else f"{fraction:.0%} "
        return prefix + text + f", ETA {_duration(eta)}"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"
