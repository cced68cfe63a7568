"""Object-store faults, injected by a proxy of ours (elacsym_sql.testing.faulty_s3) between
the S3 store and moto.

On the store: every operation answers right under each fault kind; a conditional write
whose answer was lost is resolved by reading the object back; a body cut short is retried,
never returned; a burst of faults drains no budget. Through SQL: a write/read workload
with 10-30% faults loses no acknowledged row, returns no wrong answer, and fails only the
statements the deadline gives up on (none, with a deadline that covers the faults).
"""

from __future__ import annotations

import io
import os
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

import elacsym_sql
from elacsym_sql.config import Settings
from elacsym_sql.errors import (
    ElacsymError,
    StatementCompletionUnknown,
    StorageError,
    StorageUnavailable,
)
from elacsym_sql.sql import Connection
from elacsym_sql.storage import ObjectNotFound, PreconditionFailed
from elacsym_sql.storage.retry import Transient
from elacsym_sql.storage.s3 import S3Store, _read_body
from elacsym_sql.testing.faulty_s3 import FAULTS, FaultyS3Proxy

T = TypeVar("T")
TABLE = "CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT)"


@pytest.fixture
def store(flaky_settings: Callable[..., Settings]) -> Iterator[S3Store]:
    s = S3Store(flaky_settings().data, flaky_settings())
    yield s
    s.close()


# -- the store, one fault kind at a time ----------------------------------------------------


@pytest.mark.parametrize("kind", FAULTS)
def test_every_operation_answers_right_under(
    kind: str, store: S3Store, proxy: FaultyS3Proxy, tmp_path: Path
) -> None:
    payload = os.urandom(300_000)
    calls = 0

    def faulted(op: Callable[[], T]) -> T:
        nonlocal calls
        calls += 1
        proxy.fail_next(kind, times=2)  # twice: the retry is hit as well
        return op()

    faulted(lambda: store.put("blob", payload))
    assert faulted(lambda: store.get("blob")) == payload
    assert faulted(lambda: store.get_range("blob", 1000, 10)) == payload[1000:1010]
    faulted(lambda: store.put_if_absent("wal/1", b"one"))
    with pytest.raises(PreconditionFailed):
        faulted(lambda: store.put_if_absent("wal/1", b"other"))
    etag1 = faulted(lambda: store.put_if_match("ptr", b"v1", None))
    etag2 = faulted(lambda: store.put_if_match("ptr", b"v2", etag1))
    with pytest.raises(PreconditionFailed):
        faulted(lambda: store.put_if_match("ptr", b"v3", etag1))
    assert faulted(lambda: store.get_with_etag("ptr")) == (b"v2", etag2)
    assert faulted(lambda: store.exists("blob"))
    assert not faulted(lambda: store.exists("nope"))
    with pytest.raises(ObjectNotFound):
        faulted(lambda: store.get("nope"))
    assert [o.key for o in faulted(lambda: list(store.list("wal/")))] == ["wal/1"]
    faulted(lambda: store.download("blob", str(tmp_path / "blob")))
    assert (tmp_path / "blob").read_bytes() == payload
    faulted(lambda: store.delete("blob"))
    assert not store.exists("blob")
    assert set(proxy.injected) == {kind}
    assert proxy.injected[kind] >= calls  # every operation met its fault


@pytest.mark.parametrize("kind", ["reset_after", "truncate"])
def test_lost_answer_to_a_conditional_write_resolves_to_success(
    kind: str, store: S3Store, proxy: FaultyS3Proxy
) -> None:
    proxy.fail_next(kind, method="PUT")  # the create lands; its answer does not
    store.put_if_absent("wal/7", b"batch")
    assert store.request_counts["put"] == 2  # the retry failed its precondition on ours...
    assert store.request_counts["get"] == 1  # ...and reading back showed our bytes
    assert store.get("wal/7") == b"batch"

    etag = store.put_if_match("ptr", b"v1", None)
    proxy.fail_next(kind, method="PUT")
    new_etag = store.put_if_match("ptr", b"v2", etag)
    assert store.get_with_etag("ptr") == (b"v2", new_etag)


def test_lost_answer_when_someone_else_won_is_a_lost_race(
    store: S3Store, proxy: FaultyS3Proxy
) -> None:
    store.put("wal/8", b"theirs")  # as if another writer won while our answer was lost
    proxy.fail_next("reset_before", method="PUT")
    with pytest.raises(PreconditionFailed):
        store.put_if_absent("wal/8", b"ours")
    assert store.get("wal/8") == b"theirs"


def test_unconfirmed_write_that_cannot_be_read_back_is_40003(
    flaky_settings: Callable[..., Settings], proxy: FaultyS3Proxy
) -> None:
    settings = flaky_settings(storage_deadline_seconds=0.3)
    store = S3Store(settings.data, settings)
    proxy.fail_next("reset_after", method="PUT", times=10_000)  # lands, never confirmed
    proxy.fail_next("reset_before", method="GET", times=10_000)  # and cannot be read back
    with pytest.raises(StatementCompletionUnknown) as info:
        store.put_if_absent("wal/9", b"maybe")
    assert info.value.sqlstate == "40003"
    proxy.clear()
    assert store.get("wal/9") == b"maybe"  # it had taken effect


def test_store_that_stays_down_fails_with_58030(
    flaky_settings: Callable[..., Settings], proxy: FaultyS3Proxy
) -> None:
    settings = flaky_settings(storage_deadline_seconds=0.3)
    store = S3Store(settings.data, settings)
    proxy.fail_next("slow_down", times=10_000)
    with pytest.raises(StorageUnavailable) as info:
        store.get("k")
    assert info.value.sqlstate == "58030"
    # A refused (503) create surely did not happen: a plain failure, not 40003.
    with pytest.raises(StorageUnavailable):
        store.put_if_absent("wal/1", b"x")
    assert proxy.injected["slow_down"] > 2  # it retried until the deadline
    proxy.clear()
    assert not store.exists("wal/1")


def test_truncated_body_is_retried_never_returned(
    store: S3Store, proxy: FaultyS3Proxy, tmp_path: Path
) -> None:
    payload = os.urandom(3 << 20)
    store.put("big", payload)
    store.request_counts.clear()
    proxy.fail_next("truncate", method="GET")
    assert store.get("big") == payload
    assert store.request_counts["get"] == 2
    # A download resumes where the short body stopped (a ranged GET for the rest).
    proxy.fail_next("truncate", method="GET")
    store.download("big", str(tmp_path / "big"))
    assert (tmp_path / "big").read_bytes() == payload
    assert store.request_counts["get"] == 4


def test_short_body_is_a_fault_even_if_botocore_let_it_through() -> None:
    class Body:
        def read(self) -> bytes:
            return b"half"

    with pytest.raises(Transient, match="4 of 8 bytes"):
        _read_body({"Body": Body(), "ContentLength": 8})
    assert _read_body({"Body": io.BytesIO(b"whole"), "ContentLength": 5}) == b"whole"


def test_error_body_cut_short_is_retried(store: S3Store, proxy: FaultyS3Proxy) -> None:
    # A dropped connection while reading a 404's body surfaces as urllib3's ProtocolError.
    proxy.fail_next("truncate", method="GET")
    with pytest.raises(ObjectNotFound):
        store.get("missing")
    assert proxy.injected["truncate"] == 1


def test_download_to_a_bad_path_is_a_storage_error(store: S3Store, tmp_path: Path) -> None:
    store.put("k", b"v")
    with pytest.raises(StorageError, match="no-such-dir"):
        store.download("k", str(tmp_path / "no-such-dir" / "k"))


def test_burst_of_faults_drains_no_budget(store: S3Store, proxy: FaultyS3Proxy) -> None:
    # botocore's standard mode would stop retrying for the whole client after ~35 failed
    # retries; ours retries each request until its own deadline.
    store.put("k", b"v")
    proxy.kinds, proxy.rate = ("error_500",), 0.5
    for _ in range(100):
        assert store.get("k") == b"v"
    assert proxy.injected["error_500"] > 50


# -- SQL over a flaky store ------------------------------------------------------------------


class Model:
    """What each id may hold: {value}, or several after a statement with an unknown outcome
    (None: absent)."""

    def __init__(self) -> None:
        self.possible: dict[int, set[int | None]] = {}

    def of(self, key: int) -> set[int | None]:
        return self.possible.get(key, {None})

    def known(self, key: int) -> int | None:
        (value,) = self.of(key)
        return value

    def record(self, key: int, value: int | None, error: ElacsymError | None) -> None:
        if error is None:
            self.possible[key] = {value}
        elif isinstance(error, StatementCompletionUnknown):
            self.possible[key] = self.of(key) | {value}
        # Any other failure: the statement did not take effect.

    def check(self, seen: dict[int, int]) -> None:
        for key in set(self.possible) | set(seen):
            assert seen.get(key) in self.of(key), (key, seen.get(key), self.of(key))


def _write(con: Connection, model: Model, sql: str, key: int, value: int | None) -> None:
    """Run a write of `key` (to `value`) and note its outcome in `model`."""
    params = [key] if value is None or sql.startswith("UPDATE") else [key, value]
    try:
        con.execute(sql, params)
    except ElacsymError as exc:
        model.record(key, value, exc)
        raise
    model.record(key, value, None)


def _workload(con: Connection, statements: int, seed: int) -> tuple[Model, Counter[str]]:
    """Random INSERT/UPDATE/DELETE/SELECT, folds and compactions on table t, each read
    checked against the model. Returns the model and the failures by SQLSTATE."""
    rng = random.Random(seed)
    model = Model()
    failed: Counter[str] = Counter()
    for i in range(statements):
        roll, key = rng.random(), rng.randrange(40)
        try:
            if roll < 0.4:
                _write(con, model, "INSERT INTO t VALUES (?, ?)", key, rng.randrange(1000))
            elif roll < 0.55 and len(model.of(key)) == 1 and model.known(key) is not None:
                new = model.known(key) + 1  # type: ignore[operator]
                _write(con, model, "UPDATE t SET n = n + 1 WHERE id = ?", key, new)
            elif roll < 0.65:
                _write(con, model, "DELETE FROM t WHERE id = ?", key, None)
            elif roll < 0.93:
                model.check(dict(con.execute("SELECT id, n FROM t").fetchall()))
            elif i % 2:
                con.database.engine.fold("t")
            else:
                con.database.engine.compact("t", force=True)
        except (StorageUnavailable, StatementCompletionUnknown) as exc:
            failed[exc.sqlstate] += 1
    return model, failed


def _check_fresh(settings: Settings, model: Model) -> None:
    """A new reader (cold cache) on a healthy store sees what the model allows."""
    con = elacsym_sql.connect(**vars(settings))
    try:
        model.check(dict(con.execute("SELECT id, n FROM t").fetchall()))
    finally:
        con.close()


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_sql_workload_loses_nothing_and_fails_nothing(
    rate: float, flaky_settings: Callable[..., Settings], proxy: FaultyS3Proxy
) -> None:
    proxy.rate = rate
    con = elacsym_sql.connect(**vars(flaky_settings()))
    try:
        con.execute(TABLE)
        model, failed = _workload(con, statements=150, seed=int(rate * 100))
    finally:
        con.close()
    assert not failed, failed  # the deadline (10 s per request) covers these faults
    assert sum(proxy.injected.values()) >= 15, proxy.injected
    proxy.rate = 0.0
    _check_fresh(flaky_settings(), model)


def test_sql_workload_without_retries_fails_but_is_never_wrong(
    flaky_settings: Callable[..., Settings], proxy: FaultyS3Proxy
) -> None:
    # One attempt per request: statements fail (58030, or 40003 when a write's answer was
    # lost), but nothing acknowledged is lost and no read is wrong.
    setup = elacsym_sql.connect(**vars(flaky_settings()))
    setup.execute(TABLE)
    setup.close()
    proxy.rate = 0.1
    con = elacsym_sql.connect(**vars(flaky_settings(storage_deadline_seconds=0.0)))
    try:
        model, failed = _workload(con, statements=60, seed=3)
    finally:
        con.close()
    assert failed, "with 10% faults and no retries, some statement should have failed"
    proxy.rate = 0.0
    _check_fresh(flaky_settings(), model)


@pytest.mark.slow
def test_concurrent_writers_reader_and_indexers_over_a_flaky_store(
    flaky_settings: Callable[..., Settings], proxy: FaultyS3Proxy
) -> None:
    """Two writers and a reader, each with its own engine and background indexer (folds and
    compactions racing by CAS), with 20% faults: nothing fails, nothing is lost."""
    settings = flaky_settings(
        indexer=True, fold_min_rows=10, fold_interval_seconds=0.3, compact_min_segments=2
    )
    setup = elacsym_sql.connect(**vars(settings))
    setup.execute(TABLE)
    setup.close()
    proxy.rate = 0.2
    acked: list[set[int]] = [set(), set()]
    done = threading.Event()
    errors: list[BaseException] = []

    def write(w: int) -> None:
        con = elacsym_sql.connect(**vars(settings))
        try:
            for i in range(120):
                key = w * 1000 + i
                con.execute("INSERT INTO t VALUES (?, ?)", [key, i])
                acked[w].add(key)
        finally:
            con.close()

    def read() -> None:
        con = elacsym_sql.connect(**vars(settings))
        try:
            while not done.is_set():
                before = acked[0] | acked[1]  # acknowledged before the read began
                seen = {row[0] for row in con.execute("SELECT id FROM t").fetchall()}
                assert before <= seen, sorted(before - seen)[:5]
                assert seen <= {w * 1000 + i for w in (0, 1) for i in range(120)}
        finally:
            con.close()

    def guarded(fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=guarded, args=(read,))
    reader.start()
    writers = [threading.Thread(target=guarded, args=(lambda w=w: write(w),)) for w in (0, 1)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join()
    assert not errors, errors
    assert sum(proxy.injected.values()) >= 50, proxy.injected
    proxy.rate = 0.0
    con = elacsym_sql.connect(**vars(flaky_settings()))
    try:
        assert {row[0] for row in con.execute("SELECT id FROM t").fetchall()} == (
            acked[0] | acked[1]
        )
        # The indexers folded under faults (else this proved nothing about their CAS).
        assert con.database.engine.namespace("t").snapshot().manifest.wal_hwm > 0
    finally:
        con.close()
