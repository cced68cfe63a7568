"""SQL cursors over the wire: time to the first rows and throughput of a psycopg named
cursor (DECLARE / FETCH FORWARD n) against a plain SELECT of the whole result.

    python bench/cursors.py [--rows 1000000] [--itersize 10000]

A named cursor streams: its first rows arrive after DuckDB's first chunk, not after the
whole result, and the server holds one FETCH's rows at a time.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import psycopg

import elacsym_sql
from elacsym_sql.server import BackgroundServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--itersize", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        con = elacsym_sql.connect(f"{tmp}/data", indexer=False)
        con.execute("CREATE TABLE big (id BIGINT PRIMARY KEY, label TEXT, x DOUBLE)")
        con.execute(
            "INSERT INTO big SELECT i, 'row ' || i, i / 7 FROM range(?) AS t(i)", [args.rows]
        )
        con.database.engine.fold("big")
        server = BackgroundServer(con.database).start()
        dsn = f"host=127.0.0.1 port={server.port} user=bench dbname=elacsym"
        try:
            with psycopg.connect(dsn) as pg:
                for name in ("plain", "named"):
                    if name == "named":
                        cur = pg.cursor(name="c")
                        cur.itersize = args.itersize  # rows per FETCH
                    else:
                        cur = pg.cursor()
                    start = time.perf_counter()
                    cur.execute("SELECT id, label, x FROM big")
                    first = cur.fetchmany(1000)
                    t_first = time.perf_counter() - start
                    n = len(first) + sum(1 for _ in cur)
                    total = time.perf_counter() - start
                    cur.close()
                    pg.commit()
                    print(
                        f"{name:>5}: first 1000 rows {t_first * 1000:8.1f} ms, {n} rows in "
                        f"{total:6.2f} s ({n / total:,.0f} rows/s)"
                    )
        finally:
            server.stop()
            con.close()


if __name__ == "__main__":
    main()
