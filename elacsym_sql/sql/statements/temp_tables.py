"""CREATE TEMP TABLE with SERIAL columns, for DuckDB, which has no SERIAL type (temporary
tables are DuckDB's own, not namespaces).

Each SERIAL / BIGSERIAL / SMALLSERIAL column becomes its integer type, NOT NULL, with a
default drawn from a DuckDB temporary sequence `<table>_<column>_seq` (Postgres's name):
the session's own, gone with the session as the table is. The default calls DuckDB's
`system.main.nextval`, because `nextval` is the durable sequences' macro (sequences.py).
"""

from __future__ import annotations

from sqlglot import exp

from ..views import quote
from .table_def import DIALECT, sequence_name, serial_type


def temp_table_with_serials(tree: exp.Expression | None) -> list[str] | None:
    """The statements that make this CREATE TEMP TABLE in DuckDB, or None when it has no
    SERIAL column (or is something else)."""
    if not isinstance(tree, exp.Create) or (tree.args.get("kind") or "").upper() != "TABLE":
        return None
    props = tree.args.get("properties")
    if props is None or not any(isinstance(p, exp.TemporaryProperty) for p in props.expressions):
        return None
    target = tree.this
    if not isinstance(target, exp.Schema) or not isinstance(target.this, exp.Table):
        return None
    tree = tree.copy()
    table = tree.this.this.name
    sequences = []
    for col in tree.this.expressions:
        kind = col.args.get("kind") if isinstance(col, exp.ColumnDef) else None
        integer = serial_type(kind) if isinstance(kind, exp.DataType) else None
        if integer is None:
            continue
        seq = sequence_name(table, col.name)
        sequences.append(f"CREATE TEMP SEQUENCE IF NOT EXISTS {quote(seq)}")
        col.set("kind", exp.DataType.build(integer, dialect=DIALECT))
        literal = seq.replace("'", "''")
        default = exp.maybe_parse(f"system.main.nextval('{literal}')", dialect=DIALECT)
        for rule in (exp.DefaultColumnConstraint(this=default), exp.NotNullColumnConstraint()):
            col.append("constraints", exp.ColumnConstraint(kind=rule))
    if not sequences:
        return None
    return [*sequences, tree.sql(DIALECT)]
