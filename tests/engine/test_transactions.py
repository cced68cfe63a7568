"""Engine transactions without DuckDB: snapshot reads, staged writes, all-or-nothing
commit across namespaces, first committer wins, abandoned commits aborted by readers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pyarrow as pa
import pytest

from elacsym_sql.config import Settings
from elacsym_sql.engine import Engine
from elacsym_sql.engine.txn_decisions import decision_key
from elacsym_sql.errors import ProgramLimitExceeded, SerializationFailure
from elacsym_sql.schema import Column, Schema
from elacsym_sql.wal import TxnRef


def _schema(name: str) -> Schema:
    return Schema(name, (Column("id", "BIGINT"), Column("v", "VARCHAR")), "id")


def _rows(**values: str) -> pa.Table:
    ids = [int(k[1:]) for k in values]
    return pa.table({"id": pa.array(ids, pa.int64()), "v": list(values.values())})


def _keys(*ids: int) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64())})


def _state(engine: Engine, name: str) -> dict[int, str]:
    """What a fresh strong read of `name` shows (engine only: the tail over no segments)."""
    snap = engine.namespace(name).snapshot()
    assert not snap.manifest.segments
    rows = snap.tail.rows.to_pylist()
    return {r["id"]: r["v"] for r in rows}


def _visible(tx_snapshot) -> dict[int, str]:
    return {r["id"]: r["v"] for r in tx_snapshot.tail.rows.to_pylist()}


@pytest.fixture
def engines(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Engine]]:
    """`engines(**settings)` opens another engine on the same data (another process's view)."""
    opened: list[Engine] = []

    def open_engine(**overrides: object) -> Engine:
        # A test says when a commit counts as abandoned: the default 10 s can pass between
        # two steps of a test on a loaded machine, and a reader would abort the commit.
        engine = Engine(make_settings(**{"txn_timeout_seconds": 600.0, **overrides}))
        opened.append(engine)
        return engine

    yield open_engine
    for engine in opened:
        engine.close()


@pytest.fixture
def engine(engines: Callable[..., Engine]) -> Engine:
    e = engines()
    e.create(_schema("a"))
    e.create(_schema("b"))
    e.namespace("a").append("upsert", _rows(k1="a1", k2="a2"))
    return e


def test_staged_writes_are_seen_by_the_transaction_only_until_commit(engine, engines):
    other = engines()
    tx = engine.begin()
    tx.stage("a", "upsert", _rows(k3="a3"))
    tx.stage("a", "delete", _keys(1))
    assert _visible(tx.snapshot("a")) == {2: "a2", 3: "a3"}
    assert _state(other, "a") == {1: "a1", 2: "a2"}
    tx.commit()
    assert _state(other, "a") == {2: "a2", 3: "a3"}


def test_rollback_and_savepoints_discard_staged_writes(engine):
    tx = engine.begin()
    tx.stage("a", "upsert", _rows(k3="a3"))
    mark = tx.mark()
    tx.stage("a", "upsert", _rows(k4="a4"))
    tx.stage("b", "upsert", _rows(k9="b9"))
    tx.rollback_to(mark)
    assert _visible(tx.snapshot("a")) == {1: "a1", 2: "a2", 3: "a3"}
    tx.commit()
    assert _state(engine, "a") == {1: "a1", 2: "a2", 3: "a3"}
    assert _state(engine, "b") == {}


def test_reads_keep_the_snapshot_of_first_use(engine, engines):
    tx = engine.begin()
    assert _visible(tx.snapshot("a")) == {1: "a1", 2: "a2"}
    engines().namespace("a").append("upsert", _rows(k5="other"))
    assert _visible(tx.snapshot("a")) == {1: "a1", 2: "a2"}
    assert _state(engines(), "a")[5] == "other"


def test_first_committer_wins_on_the_same_key(engine, engines):
    first, second = engine.begin(), engines().begin()
    first.stage("a", "upsert", _rows(k1="first"))
    second.stage("a", "upsert", _rows(k1="second"))
    first.commit()
    with pytest.raises(SerializationFailure) as err:
        second.commit()
    assert err.value.sqlstate == "40001"
    assert _state(engine, "a")[1] == "first"


def test_disjoint_keys_both_commit(engine, engines):
    first, second = engine.begin(), engines().begin()
    first.stage("a", "upsert", _rows(k1="first"))
    second.stage("a", "delete", _keys(2))
    first.commit()
    second.commit()
    assert _state(engine, "a") == {1: "first"}


def test_a_conflict_folded_away_is_still_found(engine, engines):
    tx = engine.begin()
    tx.stage("a", "upsert", _rows(k2="tx"))
    other = engines()
    other.namespace("a").append("upsert", _rows(k2="other"))
    assert other.fold("a")
    with pytest.raises(SerializationFailure):
        tx.commit()


def test_several_namespaces_commit_together(engine, engines):
    tx = engine.begin()
    tx.stage("a", "upsert", _rows(k7="a7"))
    tx.stage("b", "upsert", _rows(k7="b7"))
    tx.commit()
    other = engines()
    assert _state(other, "a")[7] == "a7" and _state(other, "b") == {7: "b7"}
    assert len(list(engine.store.list(".txn/"))) == 1


def test_a_conflict_in_the_second_namespace_leaves_nothing(engine, engines):
    rival = engines().begin()
    rival.stage("b", "upsert", _rows(k1="rival"))
    tx = engine.begin()
    tx.stage("a", "upsert", _rows(k8="a8"))
    tx.stage("b", "upsert", _rows(k1="tx"))
    tx.snapshot("b")
    rival.commit()
    with pytest.raises(SerializationFailure):
        tx.commit()
    other = engines()
    assert 8 not in _state(other, "a")  # its WAL object in a exists, decided aborted
    assert _state(other, "b") == {1: "rival"}


def _undecided_commit(engine: Engine, started_at: float) -> TxnRef:
    """What a coordinator killed between its WAL appends and its decision leaves behind."""
    ref = TxnRef("deadbeef", ("a", "b"), started_at)
    engine.namespace("a").append_records([("upsert", _rows(k20="x"))], txn=ref)
    engine.namespace("b").append_records([("upsert", _rows(k20="y"))], txn=ref)
    return ref


def test_an_undecided_commit_is_invisible_and_blocks_no_reader(engine, engines):
    _undecided_commit(engine, time.time())
    other = engines()
    assert 20 not in _state(other, "a") and 20 not in _state(other, "b")
    assert other.namespace("a").snapshot().pending
    other.namespace("a").append("upsert", _rows(k21="after"))  # blind writes go on
    assert _state(other, "a")[21] == "after"


def test_an_abandoned_commit_is_aborted_by_its_readers(engine, engines):
    ref = _undecided_commit(engine, time.time() - 60)
    other = engines(txn_timeout_seconds=1.0)
    assert 20 not in _state(other, "a")
    assert not other.namespace("a").snapshot().pending
    assert b'"aborted"' in engine.store.get(decision_key(ref.id))
    assert not other.decisions.decide(ref, {})  # the coordinator can no longer commit


def test_a_late_decision_shows_everywhere_in_wal_order(engine, engines):
    ref = _undecided_commit(engine, time.time())
    other = engines()
    assert 20 not in _state(other, "a")
    engine.namespace("a").append("upsert", _rows(k20="newer"))  # ordered after the txn's
    assert engine.decisions.decide(ref, {"a": 2, "b": 1})
    assert _state(other, "a")[20] == "newer" and _state(other, "b")[20] == "y"
    assert other.fold("a")  # the fold passes the decided record now
    assert not other.namespace("a").snapshot().tail.records


def test_a_fold_stops_before_an_undecided_commit(engine, engines):
    _undecided_commit(engine, time.time())
    engine.namespace("a").append("upsert", _rows(k30="later"))
    other = engines()
    assert other.fold("a")
    snap = other.namespace("a").snapshot()
    assert snap.manifest.wal_hwm == 1  # the txn's record is seq 2: not folded past
    assert 30 in {r["id"] for r in snap.tail.rows.to_pylist()}


def test_a_transaction_bigger_than_its_bound_is_refused(engines):
    engine = engines(max_transaction_bytes=10_000)
    engine.create(_schema("a"))
    tx = engine.begin()
    tx.stage("a", "upsert", _rows(**{f"k{i}": "x" * 10 for i in range(100)}))
    with pytest.raises(ProgramLimitExceeded) as err:
        tx.stage("a", "upsert", _rows(**{f"k{i}": "y" * 100 for i in range(100, 300)}))
    assert err.value.sqlstate == "54000"
    tx.commit()  # what was staged before the refusal still commits
    assert len(_state(engine, "a")) == 100
