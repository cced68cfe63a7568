"""INSERT, UPDATE and DELETE on namespaces.

DuckDB evaluates each statement against the namespace's view into the exact rows to write
(full rows for upserts, keys for deletes); they are validated and appended as one WAL
record, so a statement is all-or-nothing. A statement whose result depends on what is
stored (UPDATE, DELETE, ON CONFLICT, INSERT ... SELECT from itself) is appended only
directly after the state it read, and evaluated again if another writer got in first.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import sqlglot
from sqlglot import exp

from ...engine import (
    Engine,
    SequenceSpec,
    Snapshot,
    Transaction,
    WriteConflict,
    WriteKind,
    composite_keys,
    conform_keys,
    conform_rows,
    rowid_sequence,
)
from ...errors import GeneratedAlways, NotSupportedError, SerializationFailure, UndefinedColumn
from ...schema import ROWID, Schema
from ..bind import run_arrow
from ..dialect.float_literals import check_float_column, check_float_parameter
from ..dialect.pg_literals import typed_literal, with_typed_literals
from ..parse import DIALECT, number_placeholders, referenced_tables
from ..views import ViewCatalog, quote, rows_view
from .conflict import STAGE, conflict_sql, does_nothing
from .ddl import identifier
from .enforce import Show, enforce

PARAMS = "__elacsym_params"
# Pauses between re-evaluations of a conditional statement that lost its race: without
# them a steady stream of blind writes from another process can win every time.
FIRST_PAUSE_SECONDS = 0.001
MAX_PAUSE_SECONDS = 0.1


@dataclass(frozen=True)
class Target:
    """What a statement is evaluated against: the namespace's schema, and where fresh
    hidden row ids come from (tables without a primary key)."""

    schema: Schema
    row_ids: Callable[[int], list[int]]


@dataclass(frozen=True)
class Written:
    """A statement's effect: what goes to the WAL (`table`: full rows, or keys), and the
    rows as written (for deletes, the deleted rows' columns read): RETURNING reads them."""

    kind: WriteKind
    table: pa.Table
    rows: pa.Table
    schema: Schema


# Evaluates a statement on a cursor against the namespace's current view.
Evaluate = Callable[[duckdb.DuckDBPyConnection, Target], Written]


@dataclass(frozen=True)
class WritePlan:
    namespace: str
    evaluate: Evaluate
    conditional: bool  # depends on stored rows: must append right after what it read
    sources: frozenset[str] = frozenset()  # other tables its rows are computed from
    returning: exp.Returning | None = None
    alias: str = ""  # the name the statement gives the target table

    @property
    def reads(self) -> set[str]:
        """Every table evaluating the plan reads (a transaction shows them its snapshot)."""
        return set(self.sources) | ({self.namespace} if self.conditional else set())


def target_name(tree: exp.Expression) -> str:
    table = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    return identifier(table.this, "namespace")


def execute_plan(
    engine: Engine, views: ViewCatalog, cur: duckdb.DuckDBPyConnection, plan: WritePlan
) -> Written:
    """Evaluate, check (enforce.py) and append `plan`; returns what it wrote, once its rows
    are in this process's live full-text index (decision 0065)."""
    written = _append_plan(engine, views, cur, plan)
    if written.table.num_rows:
        # Outside the write lock: other writers go on. The write is one WAL object this
        # process appended: the state it holds has it (no request).
        engine.index_written(plan.namespace, cached=True)
    return written


def _append_plan(
    engine: Engine, views: ViewCatalog, cur: duckdb.DuckDBPyConnection, plan: WritePlan
) -> Written:
    """A statement that reads what it changes holds the namespace's write lock from its
    read to its append; the others are evaluated without it and share a WAL object with
    the statements other threads append at the same time (group commit, decision 0076)."""
    ns = engine.namespace(plan.namespace)
    for attempt in range(engine.settings.write_retries):
        if attempt:
            time.sleep(_conflict_pause(attempt))
        with contextlib.ExitStack() as locked:
            if plan.conditional:
                locked.enter_context(ns.write_lock)
                snap = views.refresh_one(plan.namespace)
            else:
                # A blind statement needs only the namespace's schema: the state this
                # process has (no request; every write made here moves it forward).
                snap = ns.recent()
            # UNIQUE is checked against the rows this statement read: it must append
            # directly after them, as a statement that reads what it changes does.
            conditional = plan.conditional or bool(snap.schema.constraints.unique_keys)
            if conditional and not plan.conditional:
                locked.enter_context(ns.write_lock)
                snap = views.refresh_one(plan.namespace)
            # The tables its rows come from, as of now (INSERT ... SELECT FROM t right after
            # a write to t read t's view from before that write: no rows).
            views.refresh(plan.sources - {plan.namespace})
            if conditional and snap.pending:
                # A statement that reads what it changes must not pass an undecided
                # transaction: it would overwrite that transaction's rows unseen.
                ns.wait_for_pending()
                snap = views.refresh_one(plan.namespace)
            written = plan.evaluate(cur, _target(engine, snap))
            if written.table.num_rows == 0:
                return written
            enforce(cur, engine, snap.schema, written.kind, written.rows, views.refresh)
            try:
                if conditional:
                    ns.append(written.kind, written.table, based_on=snap.tail_seq)
                else:
                    ns.append_grouped(written.kind, written.table, snap.schema)
            except WriteConflict:
                continue
            return written
    raise SerializationFailure(
        f"could not write to {plan.namespace}: other writers changed it "
        f"{engine.settings.write_retries} times while this statement was evaluated"
    )


def stage_plan(
    tx: Transaction, engine: Engine, cur: duckdb.DuckDBPyConnection, plan: WritePlan, show: Show
) -> Written:
    """Evaluate `plan` against the transaction's view (shown on `cur`), check it, and stage
    its rows until COMMIT; returns what it wrote."""
    snap = tx.snapshot(plan.namespace)
    written = plan.evaluate(cur, _target(engine, snap))
    enforce(cur, engine, snap.schema, written.kind, written.rows, show)
    tx.stage(plan.namespace, written.kind, written.table)
    return written


def _target(engine: Engine, snap: Snapshot) -> Target:
    def row_ids(count: int) -> list[int]:
        name = rowid_sequence(snap.name, snap.manifest.incarnation)
        return engine.sequences.next_values(name, count, implicit=SequenceSpec())

    return Target(snap.schema, row_ids)


def returning_sql(returning: exp.Returning, alias: str, schema: Schema, relation: str) -> str:
    """The query of RETURNING's expressions over `relation`, the rows as written (execution)
    or the namespace's view (Describe: the same query types the same columns)."""
    exprs = ", ".join(e.sql(DIALECT) for e in returning.expressions)
    casts = ", ".join(
        f"CAST({quote(c.name)} AS {c.type}) AS {quote(c.name)}" for c in schema.visible
    )
    return f"SELECT {exprs} FROM (SELECT {casts} FROM {relation}) AS {quote(alias)}"


def write_alias(tree: exp.Insert | exp.Update | exp.Delete) -> str:
    """The name RETURNING's expressions call the written table by."""
    table = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    return table.alias or target_name(tree)


def _conflict_pause(attempt: int) -> float:
    """Exponential back-off with full jitter, so competing writers stop colliding."""
    ceiling = min(MAX_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2**attempt)
    return random.uniform(0, ceiling)


def plan_write(tree: exp.Expression, text: str, params: Sequence[Any]) -> WritePlan:
    """A plan for one INSERT, UPDATE or DELETE statement with its parameters."""
    # Generated SQL moves clauses around: bind parameters by number, not position.
    numbered = sqlglot.parse_one(number_placeholders(text), read=DIALECT)
    name = target_name(numbered)
    if isinstance(numbered, exp.Insert):
        plan = _plan_insert(name, numbered, params)
    elif isinstance(numbered, exp.Update):
        plan = _plan_update(name, numbered, params)
    elif isinstance(numbered, exp.Delete):
        plan = _plan_delete(name, numbered, params)
    else:
        raise NotSupportedError(f"unsupported write statement {type(tree).__name__}")
    returning = numbered.args.get("returning")
    return replace(plan, returning=returning, alias=write_alias(numbered))


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
    ) or (conflict is not None and not does_nothing(conflict)):
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
        for name in batch.column_names:  # COPY's text fields, as INSERT's text parameters
            if name in schema.names:
                check_float_column(batch.column(name), schema.column(name).type)
        cur.register(PARAMS, batch)
        try:
            _stage_rows(cur, schema, tree, f"SELECT * FROM {PARAMS}", [])
        finally:
            cur.unregister(PARAMS)

    return stage


# -- INSERT --------------------------------------------------------------------------------


def _plan_insert(name: str, tree: exp.Insert, params: Sequence[Any]) -> WritePlan:
    source = tree.expression

    def stage(cur: duckdb.DuckDBPyConnection, schema: Schema) -> None:
        types = _target_types(tree, schema)
        for row in source.expressions if isinstance(source, exp.Values) else []:
            for item, type_ in zip(row.expressions, types, strict=False):
                check_float_parameter(item, type_, params)
        source_sql = (
            "DEFAULT VALUES" if source is None else with_typed_literals(source, types).sql(DIALECT)
        )
        _stage_rows(cur, schema, tree, source_sql, params)

    plan = _insert_plan(name, tree, stage, many=False)
    sources = frozenset(referenced_tables(source)) if source is not None else frozenset()
    reads_itself = name in sources
    return WritePlan(name, plan.evaluate, plan.conditional or reads_itself, sources)


def _target_types(tree: exp.Insert, schema: Schema) -> list[str | None]:
    """The types of the columns an INSERT writes, in order (None: not a column)."""
    if isinstance(tree.this, exp.Schema):
        names = [identifier(c, "column") for c in tree.this.expressions]
    else:
        names = [c.name for c in schema.visible]
    return [schema.column(n).type if n in schema.names else None for n in names]


def _insert_plan(
    name: str,
    tree: exp.Insert,
    stage: Callable[[duckdb.DuckDBPyConnection, Schema], None],
    many: bool,
) -> WritePlan:
    conflict = tree.args.get("conflict")
    alias = tree.this.alias if isinstance(tree.this, exp.Table) else ""

    def evaluate(cur: duckdb.DuckDBPyConnection, target: Target) -> Written:
        schema = target.schema
        try:
            stage(cur, schema)
            if conflict is None:
                rows = run_arrow(cur, f"SELECT * FROM {STAGE}", [])
            else:
                rows = run_arrow(cur, conflict_sql(name, alias, schema, conflict, _assignments), [])
        finally:
            cur.execute(f"DROP TABLE IF EXISTS {STAGE}")  # do not keep a copy of the rows
        if many and schema.declared_key:  # executemany: later rows see earlier ones
            rows = _keep_one_per_key(rows, schema.declared_key, last=conflict is None)
        rows = conform_rows(_with_row_ids(rows, target), schema)
        return Written("upsert", rows, rows, schema)

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
        f"{quote(c.name)} {'FLOAT[]' if c.is_vector else c.type}"
        + (f" DEFAULT {c.default}" if c.default else "")
        for c in schema.visible
    )
    cur.abort()
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} ({cols})")
    target = ""
    names: list[str] | None = None
    if isinstance(tree.this, exp.Schema):
        names = [identifier(c, "column") for c in tree.this.expressions]
        target = "(" + ", ".join(quote(n) for n in names) + ")"
    _check_identity(schema, tree, names)
    by_name = " BY NAME" if tree.args.get("by_name") else ""
    run_arrow(cur, f"INSERT INTO {STAGE} {target}{by_name} {source_sql}", params)


def _check_identity(schema: Schema, tree: exp.Insert, names: list[str] | None) -> None:
    """A value given for a GENERATED ALWAYS column is refused, as in Postgres (DEFAULT in
    its place is fine)."""
    for pos, col in enumerate(schema.visible):
        if col.identity != "always":
            continue
        source = tree.expression
        if names is not None:
            if col.name not in names:
                continue
            pos = names.index(col.name)
        if source is None:
            continue
        if isinstance(source, exp.Values) and all(
            isinstance(row, exp.Tuple)
            and (pos >= len(row.expressions) or _is_default(row.expressions[pos]))
            for row in source.expressions
        ):
            continue
        raise GeneratedAlways(
            f'cannot insert a non-DEFAULT value into column "{col.name}"',
            detail=f'Column "{col.name}" is an identity column defined as GENERATED ALWAYS.',
            hint="Use OVERRIDING SYSTEM VALUE to override.",
        )


def _is_default(value: exp.Expression) -> bool:
    return isinstance(value, exp.Var | exp.Column) and value.name.upper() == "DEFAULT"


def _with_row_ids(rows: pa.Table, target: Target) -> pa.Table:
    """Rows of a table without a primary key get fresh hidden row ids (rows that kept a
    stored row's id, under ON CONFLICT DO UPDATE, keep it)."""
    if target.schema.hidden_key != ROWID:
        return rows
    if ROWID not in rows.column_names:
        return rows.append_column(ROWID, pa.array(target.row_ids(rows.num_rows), pa.int64()))
    ids = rows.column(ROWID).combine_chunks()
    if not ids.null_count:
        return rows
    fresh = iter(target.row_ids(ids.null_count))
    filled = [v if v is not None else next(fresh) for v in ids.to_pylist()]
    return rows.set_column(rows.schema.get_field_index(ROWID), ROWID, pa.array(filled, pa.int64()))


def _keep_one_per_key(rows: pa.Table, key: tuple[str, ...], last: bool) -> pa.Table:
    if any(rows.column(k).null_count for k in key):
        return rows  # refused with the right error by validation
    if len(key) == 1:
        keys = rows.column(key[0]).to_numpy(zero_copy_only=False)
    else:
        keys = composite_keys(rows, key).to_numpy(zero_copy_only=False)
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
        if col_name == schema.primary_key or col_name in schema.declared_key:
            raise NotSupportedError(
                "the primary key cannot be updated", hint="DELETE the row and INSERT it again"
            )
        col = schema.column(col_name)
        target = "FLOAT[]" if col.is_vector else col.type
        value = (
            col.default or "NULL"
            if _is_default(item.expression)
            else rewrite(typed_literal(item.expression, col.type)).sql(DIALECT)
        )
        out[col_name] = f"CAST({value} AS {target})"
    return out


def _scan(schema: Schema, tree: exp.Expression) -> str:
    """FROM (every column of the namespace, hidden key too) under the statement's name
    for it, and its WHERE."""
    alias = tree.this.alias or schema.name
    where = tree.args.get("where")
    sql = f"FROM {rows_view(schema)} AS {quote(alias)}"
    return sql + (f" {where.sql(DIALECT)}" if where is not None else "")


def _plan_update(name: str, tree: exp.Update, params: Sequence[Any]) -> WritePlan:
    if tree.args.get("from_") or tree.args.get("from"):
        raise NotSupportedError("UPDATE ... FROM is not supported on namespaces")

    def evaluate(cur: duckdb.DuckDBPyConnection, target: Target) -> Written:
        schema = target.schema
        for item in tree.expressions:  # col = $1: the parameter read as the column's type
            if isinstance(item, exp.EQ) and isinstance(item.this, exp.Column):
                name = item.this.name
                type_ = schema.column(name).type if name in schema.names else None
                check_float_parameter(item.expression, type_, params)
        sets = _assignments(tree.expressions, schema, lambda e: e)
        changes = ", ".join(f"{expr} AS {quote(col)}" for col, expr in sets.items())
        rows = run_arrow(cur, f"SELECT * REPLACE ({changes}) {_scan(schema, tree)}", params)
        rows = conform_rows(rows, schema)
        return Written("upsert", rows, rows, schema)

    return WritePlan(name, evaluate, conditional=True)


def _plan_delete(name: str, tree: exp.Delete, params: Sequence[Any]) -> WritePlan:
    if tree.args.get("using"):
        raise NotSupportedError("DELETE ... USING is not supported on namespaces")
    returning = tree.args.get("returning") is not None

    def evaluate(cur: duckdb.DuckDBPyConnection, target: Target) -> Written:
        schema = target.schema
        # Every column for RETURNING; else the keys, declared and stored (foreign keys
        # that reference this table name the declared one).
        wanted = {schema.primary_key, *schema.declared_key}
        cols = "*" if returning else ", ".join(quote(c) for c in sorted(wanted))
        rows = run_arrow(cur, f"SELECT {cols} {_scan(schema, tree)}", params)
        keys = conform_keys(rows.column(schema.primary_key), schema)
        return Written("delete", keys, rows, schema)

    return WritePlan(name, evaluate, conditional=True)
