"""INSERT, UPDATE and DELETE on namespaces.

DuckDB evaluates each statement against the namespace's view into the exact rows to write
(full rows for upserts, keys for deletes); they are validated and appended as one WAL
record, so a statement is all-or-nothing. A statement whose result depends on what is
stored (UPDATE, DELETE, ON CONFLICT, INSERT ... SELECT from itself) is appended only
directly after the state it read, and evaluated again if another writer got in first.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import sqlglot
from sqlglot import exp

from ..engine import Engine, Transaction, WriteConflict
from ..engine.validate import conform_keys, conform_rows
from ..errors import (
    InvalidTableDefinition,
    NotSupportedError,
    SerializationFailure,
    UndefinedColumn,
)
from ..schema import Schema
from ..wal.record import Kind
from .bind import run_arrow
from .ddl import identifier
from .parse import DIALECT, number_placeholders, referenced_tables
from .pg_literals import typed_literal, with_typed_literals
from .views import ViewCatalog, quote

STAGE = "__elacsym_stage"
PARAMS = "__elacsym_params"
# Pauses between re-evaluations of a conditional statement that lost its race: without
# them a steady stream of blind writes from another process can win every time.
FIRST_PAUSE_SECONDS = 0.001
MAX_PAUSE_SECONDS = 0.1

# Evaluates a statement on a cursor against the namespace's current view.
Evaluate = Callable[[duckdb.DuckDBPyConnection, Schema], tuple[Kind, pa.Table]]


@dataclass(frozen=True)
class WritePlan:
    namespace: str
    evaluate: Evaluate
    conditional: bool  # depends on stored rows: must append right after what it read
    sources: frozenset[str] = frozenset()  # other tables its rows are computed from

    @property
    def reads(self) -> set[str]:
        """Every table evaluating the plan reads (a transaction shows them its snapshot)."""
        return set(self.sources) | ({self.namespace} if self.conditional else set())


def target_name(tree: exp.Expression) -> str:
    table = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    return identifier(table.this, "namespace")


def execute_plan(
    engine: Engine, views: ViewCatalog, cur: duckdb.DuckDBPyConnection, plan: WritePlan
) -> int:
    """Evaluate and append `plan`; returns the number of rows written."""
    ns = engine.namespace(plan.namespace)
    with ns.write_lock:
        for attempt in range(engine.settings.write_retries):
            if attempt:
                time.sleep(_conflict_pause(attempt))
            snap = views.refresh_one(plan.namespace)
            if plan.conditional and snap.pending:
                # A statement that reads what it changes must not pass an undecided
                # transaction: it would overwrite that transaction's rows unseen.
                ns.wait_for_pending()
                snap = views.refresh_one(plan.namespace)
            kind, rows = plan.evaluate(cur, snap.schema)
            if rows.num_rows == 0:
                return 0
            try:
                ns.append(kind, rows, based_on=snap.tail_seq if plan.conditional else None)
            except WriteConflict:
                continue
            return rows.num_rows
    raise SerializationFailure(
        f"could not write to {plan.namespace}: other writers changed it "
        f"{engine.settings.write_retries} times while this statement was evaluated"
    )


def stage_plan(tx: Transaction, cur: duckdb.DuckDBPyConnection, plan: WritePlan) -> int:
    """Evaluate `plan` against the transaction's view (shown on `cur`) and stage its rows
    until COMMIT; returns the number of rows written."""
    kind, rows = plan.evaluate(cur, tx.snapshot(plan.namespace).schema)
    tx.stage(plan.namespace, kind, rows)
    return rows.num_rows


def _conflict_pause(attempt: int) -> float:
    """Exponential back-off with full jitter, so competing writers stop colliding."""
    ceiling = min(MAX_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2**attempt)
    return random.uniform(0, ceiling)


def plan_write(tree: exp.Expression, text: str, params: Sequence[Any]) -> WritePlan:
    """A plan for one INSERT, UPDATE or DELETE statement with its parameters."""
    if tree.args.get("returning"):
        raise NotSupportedError("RETURNING is not supported on namespaces")
    # Generated SQL moves clauses around: bind parameters by number, not position.
    numbered = sqlglot.parse_one(number_placeholders(text), read=DIALECT)
    name = target_name(numbered)
    if isinstance(numbered, exp.Insert):
        return _plan_insert(name, numbered, params)
    if isinstance(numbered, exp.Update):
        return _plan_update(name, numbered, params)
    if isinstance(numbered, exp.Delete):
        return _plan_delete(name, numbered, params)
    raise NotSupportedError(f"unsupported write statement {type(tree).__name__}")


def plan_insert_many(tree: exp.Insert, rows: Sequence[Sequence[Any]]) -> WritePlan | None:
    """One plan for an `executemany` INSERT of plain placeholders, or None when the rows must
    run one by one. The result equals running them in turn: for a plain upsert the last row
    per key wins, for ON CONFLICT DO NOTHING the first; DO UPDATE runs row by row."""
    values = tree.expression
    conflict = tree.args.get("conflict")
    if not (
        isinstance(values, exp.Values)
        and len(values.expressions) == 1
        and all(isinstance(e, exp.Placeholder) for e in values.expressions[0].expressions)
        and not tree.args.get("returning")
    ) or (conflict is not None and not _does_nothing(conflict)):
        return None
    try:
        width = len(values.expressions[0].expressions)
        columns = [pa.array([row[i] for row in rows]) for i in range(width)]
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, IndexError):
        return None  # mixed Python types in a column: let DuckDB cast row by row
    batch = pa.table({f"c{i}": col for i, col in enumerate(columns)})
    return _insert_plan(target_name(tree), tree, _stage_table(tree, batch), many=True)


def plan_insert_table(name: str, columns: Sequence[str], table: pa.Table) -> WritePlan:
    """COPY FROM: the rows of `table` (one Arrow column per name in `columns`, as text or
    as values) written as `INSERT INTO name (columns) SELECT ...` would write them: the
    same casts, validation and upsert, one atomic write; later rows win per key, as if
    inserted one by one."""
    target = ", ".join(quote(c) for c in columns)
    tree = sqlglot.parse_one(
        f"INSERT INTO {quote(name)} ({target}) SELECT * FROM {PARAMS}", read=DIALECT
    )
    assert isinstance(tree, exp.Insert)
    return _insert_plan(name, tree, _stage_table(tree, table), many=True)


def _stage_table(
    tree: exp.Insert, batch: pa.Table
) -> Callable[[duckdb.DuckDBPyConnection, Schema], None]:
    def stage(cur: duckdb.DuckDBPyConnection, schema: Schema) -> None:
        cur.register(PARAMS, batch)
        try:
            _stage_rows(cur, schema, tree, f"SELECT * FROM {PARAMS}", [])
        finally:
            cur.unregister(PARAMS)

    return stage


def _does_nothing(conflict: exp.OnConflict) -> bool:
    action = conflict.args.get("action")
    return action is not None and "NOTHING" in action.name.upper()


# -- INSERT --------------------------------------------------------------------------------


def _plan_insert(name: str, tree: exp.Insert, params: Sequence[Any]) -> WritePlan:
    source = tree.expression
    if source is None:
        raise NotSupportedError("INSERT ... DEFAULT VALUES is not supported on namespaces")

    def stage(cur: duckdb.DuckDBPyConnection, schema: Schema) -> None:
        values = with_typed_literals(source, _target_types(tree, schema))
        _stage_rows(cur, schema, tree, values.sql(DIALECT), params)

    plan = _insert_plan(name, tree, stage, many=False)
    reads_itself = name in referenced_tables(source)
    sources = frozenset(referenced_tables(source))
    return WritePlan(name, plan.evaluate, plan.conditional or reads_itself, sources)


def _target_types(tree: exp.Insert, schema: Schema) -> list[str | None]:
    """The types of the columns an INSERT writes, in order (None: not a column)."""
    if isinstance(tree.this, exp.Schema):
        names = [identifier(c, "column") for c in tree.this.expressions]
    else:
        names = schema.names
    return [schema.column(n).type if n in schema.names else None for n in names]


def _insert_plan(
    name: str,
    tree: exp.Insert,
    stage: Callable[[duckdb.DuckDBPyConnection, Schema], None],
    many: bool,
) -> WritePlan:
    conflict = tree.args.get("conflict")
    alias = tree.this.alias if isinstance(tree.this, exp.Table) else ""

    def evaluate(cur: duckdb.DuckDBPyConnection, schema: Schema) -> tuple[Kind, pa.Table]:
        try:
            stage(cur, schema)
            if conflict is None:
                rows = run_arrow(cur, f"SELECT * FROM {STAGE}", [])
            else:
                rows = run_arrow(cur, _conflict_sql(name, alias, schema, conflict), [])
        finally:
            cur.execute(f"DROP TABLE IF EXISTS {STAGE}")  # do not keep a copy of the rows
        if many:  # rows of executemany: later rows see earlier ones, as if run in turn
            rows = _keep_one_per_key(rows, schema.primary_key, last=conflict is None)
        return "upsert", conform_rows(rows, schema)

    return WritePlan(name, evaluate, conditional=conflict is not None)


def _stage_rows(
    cur: duckdb.DuckDBPyConnection,
    schema: Schema,
    tree: exp.Insert,
    source_sql: str,
    params: Sequence[Any],
) -> None:
    """Run the INSERT into a temporary table typed like the namespace: DuckDB does the
    column matching, casts and their errors exactly as for its own tables."""
    cols = ", ".join(
        f"{quote(c.name)} {'FLOAT[]' if c.is_vector else c.type}" for c in schema.columns
    )
    cur.abort()
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} ({cols})")
    target = ""
    if isinstance(tree.this, exp.Schema):
        target = (
            "(" + ", ".join(quote(identifier(c, "column")) for c in tree.this.expressions) + ")"
        )
    by_name = " BY NAME" if tree.args.get("by_name") else ""
    run_arrow(cur, f"INSERT INTO {STAGE} {target}{by_name} {source_sql}", params)


def _conflict_sql(name: str, alias: str, schema: Schema, conflict: exp.OnConflict) -> str:
    keys = [identifier(k, "column") for k in conflict.args.get("conflict_keys") or []]
    if keys and keys != [schema.primary_key]:
        raise InvalidTableDefinition(
            "there is no unique or exclusion constraint matching the ON CONFLICT specification",
            hint=f"the only unique key is ({schema.primary_key})",
        )
    key = quote(schema.primary_key)
    if _does_nothing(conflict):
        return (
            f"SELECT s.* FROM {STAGE} AS s ANTI JOIN main.{quote(name)} AS o ON s.{key} = o.{key}"
        )
    sets = _assignments(conflict.expressions, schema, lambda e: _conflict_refs(e, name, alias))
    picks = []
    for col in schema.columns:
        new = sets.get(col.name, f"o.{quote(col.name)}")
        picks.append(
            f"CASE WHEN o.{key} IS NULL THEN s.{quote(col.name)} ELSE {new} END "
            f"AS {quote(col.name)}"
        )
    where = conflict.args.get("where")
    cond = (
        f" WHERE o.{key} IS NULL OR ({_conflict_refs(where.this, name, alias).sql(DIALECT)})"
        if where is not None
        else ""
    )
    return (
        f"SELECT {', '.join(picks)} FROM {STAGE} AS s "
        f"LEFT JOIN main.{quote(name)} AS o ON o.{key} = s.{key}{cond}"
    )


def _conflict_refs(expr: exp.Expression, name: str, alias: str) -> exp.Expression:
    """EXCLUDED.c is the proposed row (s); the target's own columns are the stored row (o)."""
    expr = expr.copy()
    for col in expr.find_all(exp.Column):
        table = col.table.lower()
        col.set("table", exp.to_identifier("s" if table == "excluded" else "o"))
        if table not in ("excluded", "", name, alias.lower()):
            raise UndefinedColumn(f'missing FROM-clause entry for table "{table}"')
    return expr


def _keep_one_per_key(rows: pa.Table, key: str, last: bool) -> pa.Table:
    if rows.column(key).null_count:
        return rows  # refused with the right error by validation
    keys = rows.column(key).to_numpy(zero_copy_only=False)
    if last:
        _, from_end = np.unique(keys[::-1], return_index=True)
        return rows.take(np.sort(len(keys) - 1 - from_end))
    _, first = np.unique(keys, return_index=True)
    return rows.take(np.sort(first))


# -- UPDATE and DELETE ---------------------------------------------------------------------


def _assignments(
    items: list[exp.Expression], schema: Schema, rewrite: Callable[[exp.Expression], exp.Expression]
) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if not isinstance(item, exp.EQ) or not isinstance(item.this, exp.Column):
            raise NotSupportedError(f"unsupported assignment {item.sql(DIALECT)}")
        col_name = identifier(item.this.this, "column")
        if col_name not in schema.names:
            raise UndefinedColumn(f'column "{col_name}" of relation "{schema.name}" does not exist')
        if col_name == schema.primary_key:
            raise NotSupportedError(
                "the primary key cannot be updated", hint="DELETE the row and INSERT it again"
            )
        col = schema.column(col_name)
        target = "FLOAT[]" if col.is_vector else col.type
        value = typed_literal(item.expression, col.type)
        out[col_name] = f"CAST({rewrite(value).sql(DIALECT)} AS {target})"
    return out


def _scan(name: str, tree: exp.Expression) -> str:
    alias = tree.this.alias
    where = tree.args.get("where")
    sql = f"FROM main.{quote(name)}" + (f" AS {quote(alias)}" if alias else "")
    return sql + (f" {where.sql(DIALECT)}" if where is not None else "")


def _plan_update(name: str, tree: exp.Update, params: Sequence[Any]) -> WritePlan:
    if tree.args.get("from_") or tree.args.get("from"):
        raise NotSupportedError("UPDATE ... FROM is not supported on namespaces")

    def evaluate(cur: duckdb.DuckDBPyConnection, schema: Schema) -> tuple[Kind, pa.Table]:
        sets = _assignments(tree.expressions, schema, lambda e: e)
        replace = ", ".join(f"{expr} AS {quote(col)}" for col, expr in sets.items())
        rows = run_arrow(cur, f"SELECT * REPLACE ({replace}) {_scan(name, tree)}", params)
        return "upsert", conform_rows(rows, schema)

    return WritePlan(name, evaluate, conditional=True)


def _plan_delete(name: str, tree: exp.Delete, params: Sequence[Any]) -> WritePlan:
    if tree.args.get("using"):
        raise NotSupportedError("DELETE ... USING is not supported on namespaces")

    def evaluate(cur: duckdb.DuckDBPyConnection, schema: Schema) -> tuple[Kind, pa.Table]:
        keys = run_arrow(cur, f"SELECT {quote(schema.primary_key)} {_scan(name, tree)}", params)
        return "delete", conform_keys(keys.column(0), schema)

    return WritePlan(name, evaluate, conditional=True)
