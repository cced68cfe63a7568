"""Server memory (issue 9): RSS at idle, with 200 idle connections, and while one client
reads a 20M-row result slowly; elacsym serve against the PostgreSQL 15 on 127.0.0.1:5432.

    PYTHONPATH=$PWD python bench/server_memory.py [--connections 200] [--seconds 10]

elacsym serve runs as a child process (its RSS is one process's). PostgreSQL is a process
per connection sharing memory, so its figure is the PSS (shared pages split between
processes) summed over every postgres process: other sessions on the machine count too.
The slow reader is psycopg's `stream()` (libpq single-row mode) sleeping between rows, so
the server sees a client that takes rows more slowly than it can send them.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from elacsym_sql.testing.served import serve

ELACSYM_BIG = "SELECT i, 'row number ' || i AS t FROM range(20000000) t(i)"
PG_BIG = "SELECT i, 'row number ' || i AS t FROM generate_series(0, 19999999) i"
PG_DSN = "host=127.0.0.1 port=5432 user=postgres password=postgres dbname=postgres"


def postgres_pss_mb() -> float:
    """PSS of every process named postgres, summed, in MiB."""
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (proc / "comm").read_text().strip() != "postgres":
                continue
            for line in (proc / "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total / 1024


def idle_connections(dsn: str, n: int) -> list[psycopg.Connection]:
    """Up to `n` open connections (fewer if the server refuses more)."""
    held = []
    for _ in range(n):
        try:
            held.append(psycopg.connect(dsn, autocommit=True))
        except psycopg.OperationalError:
            break
    return held


def slow_reader_peak(dsn: str, sql: str, memory: Callable[[], float], seconds: float) -> tuple:
    """(peak MiB while a client reads `sql` slowly for `seconds`, rows it read)."""
    rows = 0
    stop = threading.Event()

    def read() -> None:
        nonlocal rows
        with psycopg.connect(dsn, autocommit=True) as conn:
            for _ in conn.cursor().stream(sql):
                rows += 1
                if rows % 1000 == 0:
                    time.sleep(0.01)  # ~100k rows/s at most: slower than a server sends
                if stop.is_set():
                    conn.cancel_safe()
                    break

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    peak = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        peak = max(peak, memory())
        time.sleep(0.2)
    stop.set()
    reader.join(60)
    return peak, rows


def measure(
    name: str, dsn: str, big: str, memory: Callable[[], float], n: int, seconds: float
) -> dict[str, str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT 1")
    time.sleep(1)
    idle = memory()
    held = idle_connections(dsn, n)
    time.sleep(1)
    with_idle = memory()
    for conn in held:
        conn.close()
    time.sleep(2)
    peak, rows = slow_reader_peak(dsn, big, memory, seconds)
    time.sleep(2)
    after = memory()
    return {
        "server": name,
        "idle MiB": f"{idle:.0f}",
        "idle connections MiB": f"{with_idle:.0f} with {len(held)} "
        f"(+{(with_idle - idle) / max(len(held), 1):.2f} each)",
        "slow 20M-row read, peak MiB": f"{peak:.0f} (+{peak - idle:.0f}; {rows} rows read)",
        "after MiB": f"{after:.0f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(Path(tmp), "--max-connections", str(args.connections + 10)) as srv,
    ):
        dsn = f"host=127.0.0.1 port={srv.port} user=bench dbname=e"
        results.append(
            measure("elacsym serve", dsn, ELACSYM_BIG, srv.rss_mb, args.connections, args.seconds)
        )
    if not args.no_postgres:
        results.append(
            measure(
                "PostgreSQL 15 (PSS)",
                PG_DSN,
                PG_BIG,
                postgres_pss_mb,
                args.connections,
                args.seconds,
            )
        )
    columns = list(results[0])
    widths = [max(len(c), *(len(list(r.values())[i]) for r in results)) for i, c in
              enumerate(columns)]  # fmt: skip
    print(" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in results:
        print(" | ".join(v.ljust(w) for v, w in zip(row.values(), widths, strict=True)))


if __name__ == "__main__":
    main()
