"""Which namespaces a statement writes when it runs outside a transaction block: its WAL
(INSERT, UPDATE, DELETE, TRUNCATE) or its manifest (CREATE TABLE, DROP TABLE, ALTER TABLE,
CREATE/DROP INDEX, COMMENT ON). A cluster member sends such a statement to the namespaces'
owner (write_routing.py, decisions 0058, 0084, 0090).

A statement that also reads tables other than namespaces (a DataFrame of the embedded
caller, a temporary or DuckDB table of the session), or an embedded caller's files, is not
named here: the owner could not read them the same way, so it runs where it arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from sqlglot import exp

from ...errors import ElacsymError
from ..parse import Statement, table_name
from .comments import comment_table
from .ddl import created_name, creates_namespace
from .dml import target_name
from .indexes import parse_create_index, parse_drop_index

IndexTables = Callable[[], Mapping[str, tuple[str, str]]]  # index name -> (table, kind)


def written_namespaces(
    stmt: Statement,
    is_namespace: Callable[[str], bool],
    index_tables: IndexTables,
    table_functions: bool,
) -> list[str] | None:
    """The namespaces `stmt` writes (a table it creates included, although it does not
    exist yet), or None: it writes none, or it must run here. `table_functions`: whether
    the owner may run the table functions it reads (a server's files are the same to every
    member and the owner checks the user's rights, 0084; an embedded caller's are its own)."""
    try:
        names = _written(stmt, is_namespace, index_tables, table_functions)
    except ElacsymError:  # a name no namespace may have: the statement's own error, here
        return None
    return names or None


def _written(
    stmt: Statement,
    is_namespace: Callable[[str], bool],
    index_tables: IndexTables,
    table_functions: bool,
) -> list[str] | None:
    tree = stmt.tree
    if isinstance(tree, exp.Insert | exp.Update | exp.Delete):
        name = target_name(tree)
        ours = is_namespace(name) and _reads_namespaces(tree, {name}, is_namespace, table_functions)
        return [name] if ours else None
    if isinstance(tree, exp.Create) and creates_namespace(tree):
        name = created_name(tree)
        return [name] if _reads_namespaces(tree, {name}, is_namespace, table_functions) else None
    if isinstance(tree, exp.Drop) and (tree.args.get("kind") or "").upper() == "TABLE":
        return _namespaces([_relation(t) for t in tree.args.get("tables") or []], is_namespace)
    if isinstance(tree, exp.TruncateTable):
        return _namespaces([_relation(t) for t in tree.expressions], is_namespace)
    if isinstance(tree, exp.Alter) and isinstance(tree.this, exp.Table):
        return _namespaces([_relation(tree.this)], is_namespace)
    created = parse_create_index(stmt.text)
    if created is not None:
        return _namespaces([created[0]], is_namespace) if created[1] is not None else None
    dropped = parse_drop_index(stmt.text)
    if dropped is not None:
        tables = index_tables()
        found = [tables.get(n) if n is not None else None for n in dropped.names]
        return _namespaces([f[0] if f is not None else None for f in found], is_namespace)
    table = comment_table(stmt.text, index_tables)
    return _namespaces([table], is_namespace) if table is not None else None


def _namespaces(names: list[str | None], is_namespace: Callable[[str], bool]) -> list[str] | None:
    """`names` when every one is a namespace, else None."""
    if not names or any(n is None or not is_namespace(n) for n in names):
        return None
    return [n for n in names if n is not None]


def _reads_namespaces(
    tree: exp.Expression,
    written: Collection[str],
    is_namespace: Callable[[str], bool],
    table_functions: bool,
) -> bool:
    """Whether the owner reads what `tree` reads as it is read here: every table it names
    (besides `written` and its CTEs) is a namespace or a catalog's; a table function
    (read_csv(...), a search) only with `table_functions`."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            if not table_functions:
                return False
            continue
        name = _relation(table)  # None: pg_catalog's, information_schema's
        if name is None or name in written or name in ctes:
            continue
        if not is_namespace(name):
            return False
    return True


def _relation(table: exp.Expression) -> str | None:
    """The namespace a table reference names (written bare, `main.` or `public.`), or None."""
    if not isinstance(table, exp.Table):
        return None
    if table.db.lower() == "public" and not table.args.get("catalog"):
        table = exp.Table(this=table.this)
    return table_name(table)
