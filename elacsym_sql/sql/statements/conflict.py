"""INSERT ... ON CONFLICT as one query over the staged rows and the namespace's rows.

The conflict target is the primary key (as declared: one column or several) or the columns
of a UNIQUE constraint; without a target, DO NOTHING skips a row conflicting with any of
them and DO UPDATE needs the primary key. DO NOTHING keeps the staged rows
that match no stored row; DO UPDATE takes, for a match, the stored row with the SET
columns changed (so it keeps the stored row's storage key, hidden ones too).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from ...errors import InvalidTableDefinition, NotSupportedError, UndefinedColumn
from ...schema import ROWID, Schema
from ..parse import DIALECT
from ..views import quote, rows_view
from .ddl import identifier

STAGE = "__elacsym_stage"

# Parses SET assignments into {column: SQL}, rewriting expressions with the given function.
Assignments = Callable[
    [list[exp.Expression], Schema, Callable[[exp.Expression], exp.Expression]], dict[str, str]
]


def does_nothing(conflict: exp.OnConflict) -> bool:
    action = conflict.args.get("action")
    return action is not None and "NOTHING" in action.name.upper()


def conflict_columns(schema: Schema, conflict: exp.OnConflict) -> tuple[str, ...]:
    """The columns rows conflict on: the target's, which must be a key or UNIQUE."""
    keys = tuple(identifier(k, "column") for k in conflict.args.get("conflict_keys") or [])
    allowed = [schema.declared_key, *(u.columns for u in schema.constraints.unique_keys)]
    if not keys:
        if schema.hidden_key == ROWID:
            raise NotSupportedError(
                "ON CONFLICT DO UPDATE without a target on a table without a primary key",
                hint="name the columns of a UNIQUE constraint: ON CONFLICT (col) ...",
            )
        return schema.declared_key
    for cols in allowed:
        if cols and sorted(cols) == sorted(keys):
            return cols
    raise InvalidTableDefinition(
        "there is no unique or exclusion constraint matching the ON CONFLICT specification",
        hint=f"the primary key is ({', '.join(schema.declared_key)})",
    )


def conflict_sql(
    name: str, alias: str, schema: Schema, conflict: exp.OnConflict, assignments: Assignments
) -> str:
    stored = f"(SELECT *, true AS __found FROM {rows_view(schema)})"
    if does_nothing(conflict) and not conflict.args.get("conflict_keys"):
        # No target: a row conflicting with any unique key is skipped, as in Postgres.
        keys = [schema.declared_key, *(u.columns for u in schema.constraints.unique_keys)]
        sql = f"SELECT s.* FROM {STAGE} AS s"
        for i, cols in enumerate(k for k in keys if k):
            on = " AND ".join(f"s.{quote(c)} = o{i}.{quote(c)}" for c in cols)
            sql += f" ANTI JOIN {stored} AS o{i} ON {on}"
        return sql
    cols = conflict_columns(schema, conflict)
    on = " AND ".join(f"s.{quote(c)} = o.{quote(c)}" for c in cols)
    if does_nothing(conflict):
        return f"SELECT s.* FROM {STAGE} AS s ANTI JOIN {stored} AS o ON {on}"
    sets = assignments(conflict.expressions, schema, lambda e: _conflict_refs(e, name, alias))
    picks = []
    for col in schema.columns:
        new = sets.get(col.name, f"o.{quote(col.name)}")
        mine = "NULL" if col.hidden else f"s.{quote(col.name)}"
        picks.append(f"CASE WHEN o.__found IS NULL THEN {mine} ELSE {new} END AS {quote(col.name)}")
    where = conflict.args.get("where")
    cond = (
        f" WHERE o.__found IS NULL OR ({_conflict_refs(where.this, name, alias).sql(DIALECT)})"
        if where is not None
        else ""
    )
    return f"SELECT {', '.join(picks)} FROM {STAGE} AS s LEFT JOIN {stored} AS o ON {on}{cond}"


def _conflict_refs(expr: exp.Expression, name: str, alias: str) -> exp.Expression:
    """EXCLUDED.c is the proposed row (s); the target's own columns are the stored row (o)."""
    expr = expr.copy()
    for col in expr.find_all(exp.Column):
        table = col.table.lower()
        col.set("table", exp.to_identifier("s" if table == "excluded" else "o"))
        if table not in ("excluded", "", name, alias.lower()):
            raise UndefinedColumn(f'missing FROM-clause entry for table "{table}"')
    return expr
