"""node-postgres (`pg` from npm, installed by the test into a cache directory the first time):
SERIAL keys with RETURNING, JS arrays as parameters (node sends them as Postgres array
literals, `{"0.4","0.5"}`), a rolled-back block, `rows[0].count`, command tags. Skips,
saying why, without node or npm. Run against PostgreSQL 15 too with
ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server import clients

target = clients.target

PG_VERSION = "8.23.1"

SCRIPT = r"""
const { Client } = require('pg');
(async () => {
  const [port, user, password, database] = process.argv.slice(2);
  const c = new Client({ host: '127.0.0.1', port: Number(port), user, password, database });
  await c.connect();
  const out = [];
  await c.query('CREATE TABLE nd_items (id SERIAL PRIMARY KEY, name TEXT NOT NULL, ' +
                'scores REAL[], tags TEXT[])');
  const ins = await c.query('INSERT INTO nd_items (name, scores, tags) VALUES ($1, $2, $3) ' +
                            'RETURNING id', ['a', [0.4, 0.5], ['x', 'y z', 'q"uote']]);
  out.push(['insert', ins.command, ins.rowCount, ins.rows[0].id]);
  await c.query('BEGIN');
  await c.query("INSERT INTO nd_items (name) VALUES ('gone')");
  try {
    await c.query('SELECT * FROM nd_missing');
  } catch (e) {
    out.push(['error', e.code]);
  }
  out.push(['rollback', (await c.query('ROLLBACK')).command]);
  const agg = await c.query('SELECT count(*), max(id) FROM nd_items');
  out.push(['count', agg.rows[0].count, agg.rows[0].max]);
  const row = await c.query('SELECT name, scores, tags FROM nd_items WHERE id = $1', [1]);
  out.push(['row', row.rows[0]]);
  const found = await c.query('SELECT id FROM nd_items WHERE tags @> $1', [['y z']]);
  out.push(['contains', found.rows.map(r => r.id)]);
  const drop = await c.query('DROP TABLE IF EXISTS nd_nothing');
  out.push(['drop', drop.command, drop.rows.length]);
  await c.end();
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
"""


def node_pg() -> Path:
    """A directory whose node_modules holds `pg`, installed once per machine and cached."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to install and run node-postgres")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    where = cache / "elacsym_sql" / f"node-pg-{PG_VERSION}"
    if not (where / "node_modules" / "pg" / "package.json").exists():
        where.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "install", "--prefix", str(where), f"pg@{PG_VERSION}", "--no-audit",
             "--no-fund", "--loglevel=error"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"npm could not install pg@{PG_VERSION}: {done.stderr.strip()[-500:]}")
    return where


def test_node_pg(target, tmp_path):
    modules = node_pg() / "node_modules"
    script = tmp_path / "clients.js"
    script.write_text(SCRIPT)
    out = subprocess.run(
        ["node", str(script), str(target.port), target.user, target.password, target.dbname],
        capture_output=True, text=True, timeout=120, env={**os.environ, "NODE_PATH": str(modules)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [
        ["insert", "INSERT", 1, 1],
        ["error", "42P01"],
        ["rollback", "ROLLBACK"],
        ["count", "1", 1],  # count(*) is a bigint: node-postgres gives it as a string
        ["row", {"name": "a", "scores": [0.4, 0.5], "tags": ["x", "y z", 'q"uote']}],
        ["contains", [1]],
        ["drop", "DROP", 0],
    ]
