"""Two members that both believe they own one namespace (each sees only itself: a partition,
a paused process) write to it and fold, compact and collect it at the same time. No
acknowledged write is lost, reordered or duplicated: WAL appends and manifest commits are
conditional writes, so ownership only decides who does the work (decision 0057)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from tests.helpers import connection, rows

WRITES = 150
STRIDE = 1_000_000

CHILD = r"""
import json, sys
import pyarrow as pa
import elacsym_sql
from elacsym_sql.cluster import ClusterNode

settings, me, writes = json.loads(sys.argv[1])
con = elacsym_sql.connect(**settings)
engine = con.database.engine
node = ClusterNode(engine, con.database.settings).start(None)  # --peers lists only itself
assert node.owns("t"), node.owners()
work = {"fold": 0, "compact": 0}
for kind in work:  # count this process's committed folds and compactions
    def counted(name, *args, kind=kind, run=getattr(engine, kind), **kw):
        done = run(name, *args, **kw)
        work[kind] += bool(done)
        return done
    setattr(engine, kind, counted)
ns = engine.namespace("t")
schema = ns.snapshot().schema.arrow_schema
print("ready", flush=True)
assert sys.stdin.readline().strip() == "go"
for i in range(writes):
    # One statement: this writer's own new row, and the row both writers overwrite.
    table = pa.table({"id": [me * 1_000_000 + i + 1, 0], "writer": [me, me], "n": [i, i]}, schema)
    seq = ns.append("upsert", table)
    print("ack", seq, i, flush=True)
node.stop()
con.close()
print("work", json.dumps(work), flush=True)
"""


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ELACSYM_")}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["s3"])
def test_two_owners_lose_reorder_and_duplicate_nothing(make_settings, tmp_path):
    racing = dict(
        cluster=True,
        heartbeat_seconds=0.5,
        heartbeat_ttl_seconds=5.0,
        indexer=True,
        fold_min_rows=4,
        fold_interval_seconds=0.1,  # both indexers tick every 0.05 s
        compact_min_segments=2,
        manifest_refresh_seconds=0.1,
        gc_grace_seconds=0.4,  # collect folded WAL objects and replaced segments quickly
        # Each lost race is another writer's success; on a loaded machine one writer can
        # lose 32 in a row (40001, nothing written). What is tested is safety, not the budget.
        write_retries=10_000,
    )
    with connection(make_settings) as setup:
        setup.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, writer BIGINT, n BIGINT)")
    script = tmp_path / "writer.py"
    script.write_text(CHILD)
    base = dataclasses.asdict(make_settings(**racing))
    procs = []
    try:
        for me, node_id in enumerate(("a", "b")):
            fields = base | {"node_id": node_id, "peers": node_id}
            fields["cache_dir"] = str(tmp_path / f"cache-{node_id}")
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(script), json.dumps([fields, me, WRITES])],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=_child_env(),
                )
            )
        for proc in procs:
            assert proc.stdout.readline() == "ready\n", proc.stderr.read()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = []
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            outputs.append(out.splitlines())
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    acked = {  # writer -> [(seq, i)] in the order acknowledged
        me: [(int(s), int(i)) for tag, s, i in (ln.split() for ln in out if ln.startswith("ack"))]
        for me, out in enumerate(outputs)
    }
    work = [json.loads(out[-1].split(" ", 1)[1]) for out in outputs]
    for me in (0, 1):
        assert [i for _, i in acked[me]] == list(range(WRITES))
        seqs = [s for s, _ in acked[me]]
        assert seqs == sorted(seqs) and len(set(seqs)) == WRITES  # in order, each once
    everything = [s for me in (0, 1) for s, _ in acked[me]]
    assert len(set(everything)) == 2 * WRITES  # no two acknowledgements share a WAL slot
    # Both really did indexing work on the namespace at the same time.
    assert all(w["fold"] >= 1 for w in work), work
    assert sum(w["compact"] for w in work) >= 1, work

    _, last = max((s, (me, i)) for me in (0, 1) for s, i in acked[me])
    want = {me * STRIDE + i + 1: (me, i) for me in (0, 1) for i in range(WRITES)}
    want[0] = last  # the shared row: the write with the highest WAL sequence number wins

    def check(con) -> None:
        got = rows(con, "SELECT id, writer, n FROM t")
        assert len(got) == 2 * WRITES + 1  # nothing duplicated
        assert {r[0]: (r[1], r[2]) for r in got} == want  # nothing lost, newest wins

    with connection(make_settings, cache_dir=str(tmp_path / "cache-check")) as con:
        check(con)
        con.database.engine.fold("t")
        con.database.engine.compact("t", force=True)
        check(con)
