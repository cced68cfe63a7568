"""Randomized model test: the namespace view against a plain dict, over 600 random writes
(250 on S3) interleaved with folds, compactions and fresh readers."""

from __future__ import annotations

import random

import pytest

from tests.helpers import compact, connection, fold, rows

OPS = {"local": 600, "s3": 250}


def _check(con, model: dict[int, tuple[str, float]]) -> None:
    got = {i: (t, p) for i, t, p in rows(con, "SELECT id, title, price FROM kv")}
    assert got == model


@pytest.mark.parametrize("seed", [1, 2])
def test_namespace_matches_a_dict(make_settings, backend, seed):
    rng = random.Random(seed)
    model: dict[int, tuple[str, float]] = {}
    with connection(make_settings) as con:
        con.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, title TEXT, price DOUBLE)")
        for step in range(OPS[backend]):
            op = rng.random()
            if op < 0.35:
                batch = {
                    rng.randrange(300): (f"s{step}", float(rng.randrange(100)))
                    for _ in range(rng.randrange(1, 8))
                }
                con.executemany(
                    "INSERT INTO kv VALUES (?, ?, ?)", [(k, *v) for k, v in batch.items()]
                )
                model.update(batch)
            elif op < 0.45:
                key = rng.randrange(300)
                con.execute(
                    "INSERT INTO kv VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                    [key, f"n{step}", 1.0],
                )
                model.setdefault(key, (f"n{step}", 1.0))
            elif op < 0.55:
                mod = rng.randrange(2, 9)
                con.execute("UPDATE kv SET price = price + 1 WHERE id % ? = 0", [mod])
                model.update({k: (t, p + 1) for k, (t, p) in model.items() if k % mod == 0})
            elif op < 0.65:
                keys = [rng.randrange(300) for _ in range(rng.randrange(1, 5))]
                con.execute(f"DELETE FROM kv WHERE id IN ({', '.join(map(str, keys))})")
                for k in keys:
                    model.pop(k, None)
            elif op < 0.7:
                limit = float(rng.randrange(20))
                con.execute("DELETE FROM kv WHERE price < ?", [limit])
                model = {k: v for k, v in model.items() if v[1] >= limit}
            elif op < 0.8:
                fold(con, "kv")
            elif op < 0.84:
                compact(con, "kv")
            elif op < 0.85:
                with connection(make_settings) as fresh:  # a new process's view of storage
                    _check(fresh, model)
            else:
                _check(con, model)
        _check(con, model)
        fold(con, "kv")
        compact(con, "kv")
        _check(con, model)
