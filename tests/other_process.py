"""Another process with its own embedded connection to a storage root: it runs the
statements it reads from its stdin, one a line, and answers each with JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = """
import json, sys, elacsym_sql
con = elacsym_sql.connect(sys.argv[1], **json.loads(sys.argv[2]))
for line in sys.stdin:
    cur = con.cursor()
    try:
        cur.execute(line)
        out = {"rows": cur.fetchall() if cur.description else None}
    except Exception as exc:
        out = {"error": getattr(exc, "sqlstate", None) or repr(exc)}
    print(json.dumps(out, default=str), flush=True)
"""


class OtherProcess:
    def __init__(self, root: str, **settings: Any) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SCRIPT, root, json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def run(self, sql: str) -> Any:
        """The rows of `sql` (None for a statement without rows); an error fails the test."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(sql.replace("\n", " ") + "\n")
        self.proc.stdin.flush()
        out = json.loads(self.proc.stdout.readline())
        assert "error" not in out, (sql, out)
        return out["rows"]

    def close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
