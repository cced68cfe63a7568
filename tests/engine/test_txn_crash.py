"""A multi-namespace COMMIT killed with SIGKILL between each step of its protocol
(docs/decisions/0021-transactions.md) leaves all of it visible or none, everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from elacsym_sql.config import Settings
from tests.helpers import connection, fold, rows

pytestmark = pytest.mark.slow

CHILD = r"""
import json, os, signal, sys

cfg = json.loads(sys.argv[1])
import elacsym_sql
from elacsym_sql.engine import transaction, txn_decisions


def die():
    os.kill(os.getpid(), signal.SIGKILL)


point = cfg["point"]
if point == "after-first-append":  # one participant has its tagged WAL object
    append = transaction.Transaction._append

    def patched(self, name, parts, ref):
        seq = append(self, name, parts, ref)
        die()
        return seq

    transaction.Transaction._append = patched
elif point in ("after-all-appends", "after-decision"):
    decide = txn_decisions.TxnDecisions.decide

    def patched(self, ref, seqs):
        if point == "after-all-appends":
            die()  # every participant written, no decision yet
        decided = decide(self, ref, seqs)
        die()  # decided, never acknowledged
        return decided

    txn_decisions.TxnDecisions.decide = patched

con = elacsym_sql.connect(**cfg["settings"])
con.begin()
con.execute("INSERT INTO a VALUES (7, 'a7')")
con.execute("INSERT INTO b VALUES (7, 'b7')")
print("committing", flush=True)
con.commit()
print("ack", flush=True)
"""

POINTS = ["after-first-append", "after-all-appends", "after-decision", "none"]


def _child_settings(settings: Settings) -> dict[str, object]:
    keep = ("data", "s3_endpoint", "s3_region", "s3_access_key_id", "s3_secret_access_key")
    out = {k: getattr(settings, k) for k in keep}
    return out | {"cache_dir": settings.cache_dir + "-child", "indexer": False}


@pytest.mark.parametrize("point", POINTS)
def test_multi_namespace_commit_killed_at_each_step(make_settings, tmp_path: Path, point):
    with connection(make_settings) as con:
        con.execute("CREATE TABLE a (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("CREATE TABLE b (id BIGINT PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO a VALUES (1, 'a1')")
    cfg = {"settings": _child_settings(make_settings()), "point": point}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    lines = child.stdout.split()
    assert "committing" in lines, child.stderr
    acknowledged = "ack" in lines
    assert acknowledged == (point == "none"), child.stderr
    with connection(make_settings, txn_timeout_seconds=0.5) as con:
        time.sleep(0.6)  # an undecided commit is abandoned once older than the timeout
        in_a = rows(con, "SELECT v FROM a WHERE id = 7")
        in_b = rows(con, "SELECT v FROM b WHERE id = 7")
        committed = point in ("after-decision", "none")
        assert (in_a, in_b) == (([("a7",)], [("b7",)]) if committed else ([], []))
        # Both namespaces go on: writes that read (they wait for decisions), folds.
        con.execute("UPDATE a SET v = v || '!' WHERE id = 1")
        con.execute("INSERT INTO b VALUES (8, 'b8')")
        assert fold(con, "a") and fold(con, "b")
        assert rows(con, "SELECT v FROM a ORDER BY id") == [("a1!",)] + (
            [("a7",)] if committed else []
        )
        assert rows(con, "SELECT count(*) FROM b") == [(2 if committed else 1,)]
