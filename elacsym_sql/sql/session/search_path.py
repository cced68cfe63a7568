"""search_path (decision 0072): unqualified table names resolved in the session's schemas.

A table of a user schema `s` is the namespace `"s.t"` (decision 0033). When the session's
search_path names user schemas, each unqualified table a statement names is looked up
along the path, as Postgres does: the first schema that has it wins (public's tables are
the plain namespaces), and the name is rewritten to that namespace's. CREATE TABLE makes
its table in the first schema of the path that exists. With the default path
(`"$user", public`) nothing is parsed or rewritten.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from ..parse import DIALECT
from ..views import quote

PUBLIC = "public"


def path_of(setting: str) -> tuple[str, ...]:
    """The schemas of a search_path value, in order: `"$user", public` -> ("public",).
    Quoted names keep their case; "$user" is left out (no schema per user here)."""
    out = []
    for part in setting.split(","):
        name = part.strip()
        if len(name) > 1 and name[0] == name[-1] == '"':
            name = name[1:-1].replace('""', '"')
        elif len(name) > 1 and name[0] == name[-1] == "'":
            name = name[1:-1]
        else:
            name = name.lower()
        if name and name != "$user":
            out.append(name)
    return tuple(out)


def resolve_tables(
    sql: str, path: tuple[str, ...], schemas: frozenset[str], exists: Callable[[str], bool]
) -> str:
    """`sql` with each unqualified table name that the path finds in a user schema written
    as that schema's namespace ("s.t"); `exists(name)` says whether a namespace exists."""
    if not any(s in schemas for s in path):
        return sql
    try:
        trees = sqlglot.parse(sql, read=DIALECT)
    except (ParseError, TokenError):
        return sql  # left as written: DuckDB or the router reports what is wrong
    edits: dict[int, tuple[int, str]] = {}  # start -> (end, replacement)
    for tree in trees:
        if tree is None:
            continue
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        created = _created_table(tree)
        resolved: dict[str, str] = {}  # unaliased table name -> its namespace
        for table in tree.find_all(exp.Table):
            ident = table.this
            if table.db or table.catalog or not isinstance(ident, exp.Identifier):
                continue
            name = ident.name
            if not name or name in ctes or not _placed(ident):
                continue
            if table is created:
                found = _creating(path, schemas)
            else:
                found = _finding(path, schemas, name, exists)
            if found is None or found == PUBLIC:
                continue
            _edit(edits, ident, f"{found}.{name}")
            if not table.alias:
                resolved[name] = f"{found}.{name}"
        # `UPDATE t SET ... WHERE t.id = 1`: qualifiers naming an unaliased table follow it
        for column in tree.find_all(exp.Column):
            qualifier = column.args.get("table")
            if (isinstance(qualifier, exp.Identifier) and not column.args.get("db")
                    and qualifier.name in resolved and _placed(qualifier)):  # fmt: skip
                _edit(edits, qualifier, resolved[qualifier.name])
    out, last = [], 0
    for start, (end, text) in sorted(edits.items()):
        out += [sql[last:start], text]
        last = end
    return "".join(out) + sql[last:]


def find_table(
    path: tuple[str, ...], schemas: frozenset[str], name: str, exists: Callable[[str], bool]
) -> str:
    """The namespace an unqualified table name means along the path (`name` itself when
    the path finds it in public, or nowhere)."""
    found = _finding(path, schemas, name, exists)
    return name if found is None or found == PUBLIC else f"{found}.{name}"


def _placed(ident: exp.Identifier) -> bool:
    """Whether the parser kept where `ident` is in the text (rewritten names have none)."""
    return ident.meta.get("start") is not None and ident.meta.get("end") is not None


def _edit(edits: dict[int, tuple[int, str]], ident: exp.Identifier, namespace: str) -> None:
    edits[ident.meta["start"]] = (ident.meta["end"] + 1, quote(namespace))


def _created_table(tree: exp.Expression) -> exp.Table | None:
    """The table a CREATE TABLE makes (not TEMP ones: those are DuckDB's own)."""
    if not isinstance(tree, exp.Create) or str(tree.args.get("kind") or "").upper() != "TABLE":
        return None
    props = tree.args.get("properties")
    if props is not None and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions):
        return None
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    return target if isinstance(target, exp.Table) else None


def _creating(path: tuple[str, ...], schemas: frozenset[str]) -> str | None:
    """Where CREATE makes a table: the first schema of the path that exists."""
    return next((s for s in path if s == PUBLIC or s in schemas), None)


def _finding(
    path: tuple[str, ...], schemas: frozenset[str], name: str, exists: Callable[[str], bool]
) -> str | None:
    """The schema of the path whose table `name` is found first."""
    for schema in path:
        if schema == PUBLIC and exists(name):
            return PUBLIC
        if schema in schemas and exists(f"{schema}.{name}"):
            return schema
    return None
