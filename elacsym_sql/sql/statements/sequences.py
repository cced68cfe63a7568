"""nextval / currval / setval / lastval in SQL, and CREATE / DROP SEQUENCE, over the
engine's durable sequences (engine/sequences.py, decision 0025).

DuckDB has sequences of its own, but they live in one process's memory. The functions are
macros in `main` (they shadow DuckDB's built-ins) over Python UDFs; each DuckDB cursor
carries a session id in a variable, so currval and lastval answer per session, as in
Postgres.
"""

from __future__ import annotations

import itertools
import re
import threading
import weakref
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from ...engine import Engine, SequenceSpec
from ...errors import NotSupportedError, ObjectNotInPrerequisiteState, UndefinedTable
from ..errors import guarded_udf

SESSION = "__elacsym_session"
_session_ids = itertools.count(1)


def sequence_name(text: str) -> str:
    """A sequence named as regclass text: `s`, `public.s`, `"My Seq"` (unquoted: lower)."""
    text = text.strip()
    if text.lower().startswith("public."):
        text = text[len("public.") :]
    if len(text) > 1 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


class SequenceFunctions:
    """The SQL functions, with each session's last values for currval and lastval."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._last: dict[str, dict[str, int]] = {}  # session: sequence: last value
        self._lastval: dict[str, int] = {}

    def install(self, duck: duckdb.DuckDBPyConnection) -> None:
        for name, fn, params, ret in (
            ("__elacsym_nextval", self._nextval, ["VARCHAR", "VARCHAR"], "BIGINT"),
            ("__elacsym_currval", self._currval, ["VARCHAR", "VARCHAR"], "BIGINT"),
            ("__elacsym_setval", self._setval, ["VARCHAR", "BIGINT", "BOOLEAN", "VARCHAR"],
             "BIGINT"),
            ("__elacsym_lastval", self._lastval_fn, ["VARCHAR"], "BIGINT"),
        ):  # fmt: skip
            duck.create_function(
                name, guarded_udf(fn), params, ret, type="arrow",
                null_handling="special", side_effects=True,
            )  # fmt: skip
        session = f"getvariable('{SESSION}')"
        for sql in (
            f"CREATE OR REPLACE MACRO main.nextval(s) AS __elacsym_nextval(s::VARCHAR, {session})",
            f"CREATE OR REPLACE MACRO main.currval(s) AS __elacsym_currval(s::VARCHAR, {session})",
            "CREATE OR REPLACE MACRO main.setval(s, v, c := true) AS "
            f"__elacsym_setval(s::VARCHAR, v::BIGINT, c, {session})",
            f"CREATE OR REPLACE MACRO main.lastval() AS __elacsym_lastval({session})",
        ):
            duck.execute(sql)

    def open_session(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Give a new cursor its session id; its values are forgotten with it."""
        sid = str(next(_session_ids))
        cur.execute(f"SET VARIABLE {SESSION} = '{sid}'")
        weakref.finalize(cur, self._forget, sid)

    def _forget(self, sid: str) -> None:
        with self._lock:
            self._last.pop(sid, None)
            self._lastval.pop(sid, None)

    def _remember(self, sid: str | None, name: str, value: int) -> None:
        if sid is not None:
            with self._lock:
                self._last.setdefault(sid, {})[name] = value
                self._lastval[sid] = value

    def _nextval(self, names: pa.Array, sessions: pa.Array) -> pa.Array:
        names_py, sids = names.to_pylist(), sessions.to_pylist()
        wanted: dict[str, list[int]] = {}
        for i, text in enumerate(names_py):
            if text is not None:
                wanted.setdefault(sequence_name(text), []).append(i)
        out: list[int | None] = [None] * len(names_py)
        for name, rows in wanted.items():
            values = self._engine.sequences.next_values(name, len(rows))
            for i, value in zip(rows, values, strict=True):
                out[i] = value
                self._remember(sids[i], name, value)
        return pa.array(out, pa.int64())

    def _currval(self, names: pa.Array, sessions: pa.Array) -> pa.Array:
        out = []
        for text, sid in zip(names.to_pylist(), sessions.to_pylist(), strict=True):
            name = sequence_name(text or "")
            with self._lock:
                value = self._last.get(sid or "", {}).get(name)
            if value is None:
                if not self._engine.sequences.exists(name):
                    raise UndefinedTable(f'relation "{name}" does not exist')
                raise ObjectNotInPrerequisiteState(
                    f'currval of sequence "{name}" is not yet defined in this session'
                )
            out.append(value)
        return pa.array(out, pa.int64())

    def _setval(
        self, names: pa.Array, values: pa.Array, called: pa.Array, sessions: pa.Array
    ) -> pa.Array:
        out = []
        rows = zip(names.to_pylist(), values.to_pylist(), called.to_pylist(),
                   sessions.to_pylist(), strict=True)  # fmt: skip
        for text, value, is_called, sid in rows:
            name = sequence_name(text or "")
            out.append(self._engine.sequences.setval(name, int(value), is_called is not False))
            if is_called is not False:
                self._remember(sid, name, int(value))
        return pa.array(out, pa.int64())

    def _lastval_fn(self, sessions: pa.Array) -> pa.Array:
        out = []
        for sid in sessions.to_pylist():
            with self._lock:
                value = self._lastval.get(sid or "")
            if value is None:
                raise ObjectNotInPrerequisiteState("lastval is not yet defined in this session")
            out.append(value)
        return pa.array(out, pa.int64())


def _number(props: exp.SequenceProperties, arg: str) -> int | None:
    value = props.args.get(arg)
    if value is None:
        return None
    text = value.sql("duckdb")
    try:
        return int(text)
    except ValueError:
        raise NotSupportedError(f"sequence option {arg.upper()} {text} is not supported") from None


# Postgres's defaults spelled out, which sqlglot misreads (`NO MINVALUE` as MINVALUE "no",
# `NO CYCLE` as CYCLE, or the whole statement as an opaque command).
_SPELLED_DEFAULTS = re.compile(r"\bNO\s+(?:MINVALUE|MAXVALUE|CYCLE)\b", re.IGNORECASE)
_CREATE_SEQUENCE = re.compile(r"\s*CREATE\s+SEQUENCE\b", re.IGNORECASE)


def sequence_tree(tree: exp.Expression | None, text: str) -> exp.Expression | None:
    """The tree of a CREATE SEQUENCE without the options that only restate a default."""
    if _CREATE_SEQUENCE.match(text) is None or _SPELLED_DEFAULTS.search(text) is None:
        return tree
    return sqlglot.parse_one(_SPELLED_DEFAULTS.sub(" ", text), read="duckdb")


def execute_create_sequence(engine: Engine, tree: exp.Create, name: str) -> None:
    props = tree.args.get("properties")
    spec: dict[str, Any] = {}
    for prop in props.expressions if props else []:
        if not isinstance(prop, exp.SequenceProperties):
            raise NotSupportedError(f"sequence option {prop.sql('duckdb')} is not supported")
        if prop.args.get("options") or prop.args.get("owned"):
            raise NotSupportedError(f"sequence options {prop.sql('duckdb')} are not supported")
        for arg in ("start", "increment", "minvalue", "maxvalue", "cache"):
            if (value := _number(prop, arg)) is not None:
                spec[arg] = value
    engine.sequences.create(name, SequenceSpec(**spec), if_not_exists=bool(tree.args.get("exists")))


def execute_drop_sequence(engine: Engine, names: list[str], if_exists: bool) -> None:
    missing = [n for n in names if not engine.sequences.exists(n)]
    if missing and not if_exists:
        raise UndefinedTable(f'sequence "{missing[0]}" does not exist')
    for name in names:
        engine.sequences.drop(name, if_exists=True)
