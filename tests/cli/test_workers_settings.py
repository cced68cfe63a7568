"""What a worker of `serve --workers N` makes of the host's settings (decision 0078): its
member id, its share of the memory settings, its place in backend pids; and what the
parent refuses before starting any."""

from __future__ import annotations

import argparse

import pytest

from elacsym_sql.cli.settings import load
from elacsym_sql.cli.workers import WorkerSpec, check_workers, duckdb_share, for_worker, sibling_id
from elacsym_sql.errors import InvalidParameterValue
from elacsym_sql.host import cores, memory_bytes
from elacsym_sql.server.worker_slot import MAX_WORKERS, backend_pids, worker_of


def _loaded(**flags: object):
    return load(argparse.Namespace(**flags), environ={})


def test_the_default_is_the_cores_this_process_may_use():
    assert _loaded().server.workers == cores()
    with pytest.raises(ValueError, match="--workers is between 1 and 256"):
        _loaded(workers="0")


def test_a_worker_is_a_member_with_its_share_of_memory():
    loaded = _loaded(node_id="db1", memory_cache_bytes="2GiB", memory_limit="8GB")
    spec = WorkerSpec(index=1, count=4, pg_fd=3, http_fd=None, ready_fd=5, lifeline_fd=6)
    assert WorkerSpec.from_env({"_ELACSYM_WORKER": spec.to_env()}) == spec
    worker = for_worker(loaded, spec)
    assert worker.settings.node_id == "db1-w1" and worker.settings.clustered
    assert worker.settings.memory_cache_bytes == (2 << 30) // 4
    assert worker.server.memory_limit == f"{8 * 10**9 // 4 // 1024}KiB"
    assert sibling_id("db1-w1", 3) == "db1-w3"
    # Without --memory-limit: a quarter of DuckDB's own default, 80% of the host's memory.
    host = memory_bytes()
    assert host is not None
    assert duckdb_share("", 4) == f"{int(host * 0.8) // 4 // 1024}KiB"


def test_the_parent_refuses_what_workers_cannot_be():
    check_workers(_loaded(workers="2", peers="a=h:1,b=h:2", node_id="a"))  # a's workers
    with pytest.raises(ValueError, match="'c' is not among --peers"):
        check_workers(_loaded(workers="2", peers="a=h:1,b=h:2", node_id="c"))
    with pytest.raises(InvalidParameterValue, match="1-63 letters"):
        check_workers(_loaded(workers="2", node_id="n" * 62))
    with pytest.raises(ValueError, match="is not a size"):
        check_workers(_loaded(workers="2", memory_limit="lots"))


def test_a_backend_pid_names_its_worker():
    for index in (0, 1, 7, MAX_WORKERS - 1):
        pids = backend_pids(index)
        first = [next(pids) for _ in range(3)]
        assert [worker_of(p) for p in first] == [index] * 3
        assert len(set(first)) == 3 and all(0 < p < 2**31 for p in first)
