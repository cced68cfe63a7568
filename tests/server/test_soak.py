"""64 clients at once against `elacsym serve` (its own process): writers, COPY writers,
readers, clients that cancel long queries and clients that hang up in the middle of a large
result (closing, or only half-closing as a proxy passes a hang-up on), for three rounds of
18 s after a 5 s warm-up. Afterwards every acknowledged write is there, nothing failed that
should not have, and the server's RSS after each round is back near where the warmed-up
server started: memory does not grow with the traffic.

The warm-up is the baseline because its growth is a one-off (measured ~45 MB over a cold
server): the worker pool starts its 32 threads (stacks, a malloc arena, DuckDB's per-thread
allocator caches each) and lazily imported code loads. The caches play no part: the served
tests run without the indexer, so there are no segments for the memory cache to hold; the
unindexed rows stay in memory (the WAL tail), a few MB per round (decision 0048).

The check after each round is evidence, not ceremony: on the code before decision 0048
these rounds measured +20, +34, +38 MB (allowed 27, 28, 30: fails), while one check after
55 s of the same traffic measured +22 (allowed 31: passed). A session must end with its
client (decision 0074): each half-closed client checks that the server closed its end (not
left in CLOSE_WAIT, holding what it had buffered)."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter

import psycopg
import pytest

from elacsym_sql.server import memory
from elacsym_sql.testing.served import Served, serve

from .wire_client import CLOSE_WAIT, Client, query, server_side_state

CLIENTS = 64
WARM_UP_SECONDS = 5.0
ROUNDS = 3
SECONDS = 18.0  # per round: with the warm-up, 60 s
HALF_CLOSED = 10  # a quitter's half-closed connections held open at once (8 quitters)
WARM_UP_MB = 150  # a cold server's growth in the warm-up (measured 40-55 MB)
# After each round, RSS above the warmed-up baseline may be (decision 0048, measured):
FIXED_MB = 25  # free memory glibc cannot return (fragmentation): +7 to +19 MB seen
PER_WRITE_KB = 10  # an acknowledged write kept in the WAL tail (no indexer): ~7 KB
PER_READ_KB = 5  # DuckDB's heap grows ~2.5 KB per join query (the view), two per read
LONG = "SELECT count(*) FROM range(100000000000)"

pytestmark = pytest.mark.slow


class Soak:
    def __init__(self, port: int, seconds: float, round_: int) -> None:
        self.dsn = f"host=127.0.0.1 port={port} user=soak dbname=e"
        self.port = port
        self.round = round_  # ids of each round's writers differ
        self.end = time.monotonic() + seconds
        self.lock = threading.Lock()
        self.acknowledged: set[int] = set()
        self.unexpected: list[str] = []
        self.done: Counter[str] = Counter()

    def running(self) -> bool:
        return time.monotonic() < self.end

    def first_id(self, n: int) -> int:
        return (self.round * CLIENTS + n) * 10_000_000

    def note(self, kind: str, ids: list[int] | None = None) -> None:
        with self.lock:
            self.done[kind] += 1
            if ids:
                self.acknowledged.update(ids)

    def fail(self, who: str, exc: BaseException) -> None:
        with self.lock:
            self.unexpected.append(f"{who}: {type(exc).__name__}: {exc}")

    # -- the kinds of client -------------------------------------------------------------

    def writer(self, n: int) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            i = 0
            while self.running():
                ids = [self.first_id(n) + i + k for k in range(5)]
                i += 5
                try:
                    conn.execute(
                        "INSERT INTO soak VALUES " + ",".join(["(%s, %s, %s)"] * 5),
                        [v for id_ in ids for v in (id_, n, f"row {id_}")],
                    )
                except psycopg.errors.SerializationFailure:
                    # 40001 when racing writers use up the write retries (issue 11's group
                    # commit): the statement did not happen and says so; a client retries.
                    self.note("40001")
                    continue
                self.note("insert", ids)

    def copier(self, n: int) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            i = 0
            while self.running():
                ids = [self.first_id(n) + i + k for k in range(50)]
                i += 50
                try:
                    with conn.cursor().copy("COPY soak (id, worker, v) FROM STDIN") as copy:
                        for id_ in ids:
                            copy.write_row((id_, n, f"copied {id_}"))
                except psycopg.errors.SerializationFailure:
                    self.note("40001")
                    continue
                self.note("copy", ids)

    def reader(self, n: int) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while self.running():
                (count,) = conn.execute("SELECT count(*) FROM soak").fetchone()
                assert count >= 0
                rows = conn.execute("SELECT id, v FROM soak WHERE worker = %s", [n % 8]).fetchall()
                assert all(v.endswith(str(i)) for i, v in rows)
                self.note("read")

    def canceller(self, n: int) -> None:
        # The timeout bounds a query the cancel reached before it started (a loaded machine).
        with psycopg.connect(self.dsn, autocommit=True, options="-c statement_timeout=5s") as conn:
            while self.running():
                timer = threading.Timer(random.uniform(0.05, 0.5), conn.cancel_safe)
                timer.start()
                try:
                    conn.execute(LONG)
                except psycopg.errors.QueryCanceled:
                    self.note("cancel")
                finally:
                    timer.cancel()

    def quitter(self, n: int) -> None:
        half_closed: list[socket.socket] = []  # their FIN reached the server, nothing else
        try:
            while self.running():
                client = Client(self.port)
                client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
                client.sock.sendall(query("SELECT i, 'row ' || i FROM range(5000000) t(i)"))
                client.sock.recv(random.randint(1, 1 << 16))  # read a little, then hang up
                if len(half_closed) < HALF_CLOSED and random.random() < 0.5:
                    client.sock.shutdown(socket.SHUT_WR)
                    half_closed.append(client.sock)
                    self.note("half-close")
                else:
                    client.sock.close()
                    self.note("hang-up")
        finally:
            for sock in half_closed:
                if not closed_by_server(self.port, sock):
                    self.fail(f"quitter {n}", AssertionError("a half-closed client's session"
                              " kept its connection"))  # fmt: skip
                sock.close()

    def run(self, kind: str, n: int) -> None:
        try:
            getattr(self, kind)(n)
        except Exception as exc:
            self.fail(f"{kind} {n}", exc)


def closed_by_server(port: int, sock: socket.socket, seconds: float = 30.0) -> bool:
    """Whether the server closed its end of a connection its client half-closed (within
    seconds: the last chunk it encodes may take a few on a loaded machine; never is what
    this catches)."""
    end = time.monotonic() + seconds
    while server_side_state(port, sock.getsockname()[1]) == CLOSE_WAIT:
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


def soak_round(port: int, seconds: float, round_: int) -> Soak:
    """All 64 clients for `seconds`; returns what they did once every one has left."""
    soak = Soak(port, seconds, round_)
    kinds = ["writer"] * 16 + ["copier"] * 8 + ["reader"] * 24 + ["canceller"] * 8
    kinds += ["quitter"] * (CLIENTS - len(kinds))
    threads = [
        threading.Thread(target=soak.run, args=(kind, n), daemon=True)
        for n, kind in enumerate(kinds)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert not soak.unexpected, soak.unexpected[:10]
    kinds_done = ("insert", "copy", "read", "cancel", "hang-up", "half-close")
    assert min(soak.done[k] for k in kinds_done) > 0, dict(soak.done)
    return soak


def settled_rss(srv: Served) -> float:
    """The server's RSS once it has given freed memory back: it trims at most every
    TRIM_SECONDS as sessions close, and once after the last (server/memory.py)."""
    time.sleep(memory.TRIM_SECONDS + 0.5)
    rss = srv.rss_mb()
    for _ in range(20):  # a loaded machine: the trim may still be running
        time.sleep(0.5)
        rss, before = srv.rss_mb(), rss
        if abs(rss - before) < 1:
            break
    return rss


def test_64_clients_for_60_seconds(tmp_path):
    with serve(tmp_path, "--max-connections", "100") as srv:
        setup = f"host=127.0.0.1 port={srv.port} user=soak dbname=e"
        with psycopg.connect(setup, autocommit=True) as conn:
            conn.execute("CREATE TABLE soak (id BIGINT PRIMARY KEY, worker INT, v TEXT)")
            conn.execute("INSERT INTO soak VALUES (0, 0, 'row 0')")
        cold = srv.rss_mb()
        acknowledged = soak_round(srv.port, WARM_UP_SECONDS, 0).acknowledged
        baseline = settled_rss(srv)
        assert baseline - cold < WARM_UP_MB, f"warm-up: {cold:.0f} MB -> {baseline:.0f} MB"
        after, allowed = [], []
        done: Counter[str] = Counter()
        for round_ in range(1, ROUNDS + 1):
            soak = soak_round(srv.port, SECONDS, round_)
            acknowledged |= soak.acknowledged
            done += soak.done
            after.append(settled_rss(srv) - baseline)
            writes, reads = done["insert"] + done["copy"], done["read"]
            allowed.append(FIXED_MB + (writes * PER_WRITE_KB + reads * PER_READ_KB) / 1024)
        with psycopg.connect(setup, autocommit=True) as conn:
            present = {row[0] for row in conn.execute("SELECT id FROM soak").fetchall()}
        lost = acknowledged - present
        assert not lost, f"{len(lost)} acknowledged rows missing, e.g. {sorted(lost)[:5]}"
        measured = list(zip(after, allowed, strict=True))
        rounds = ", ".join(f"{grown:+.0f} (<{limit:.0f})" for grown, limit in measured)
        print(f"soak RSS: cold {cold:.0f} MB, warmed up {baseline:.0f} MB, rounds {rounds} MB")
        assert all(grown < limit for grown, limit in measured), (
            f"server RSS after each round above its warmed-up {baseline:.0f} MB (cold "
            f"{cold:.0f}): {rounds} MB, after {dict(done)}"
        )
        assert "Traceback" not in srv.log_text(), srv.log_text()[-3000:]
