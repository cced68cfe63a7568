"""Result column names as Postgres gives them.

DuckDB names an unaliased expression by its text (`count_star()`, `(1 + 1)`,
`CAST(1 AS int4)`); Postgres (FigureColname in parse_target.c) by the last name of a
column reference or function, the type of a cast whose operand has no name, `case`,
`array`, `exists`, `coalesce`, ... and `?column?` for the rest; `VALUES` columns are
`column1`, `column2`, ... Unquoted names fold to lower case.

The statement is read by DuckDB's own parser (`json_serialize_sql`: a Postgres-derived
grammar, with the text position of each expression) and only the top-level select list is
named; the result keeps DuckDB's names when they are already plain lower-case names, so
ordinary column lists cost nothing.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from typing import Any

import duckdb

UNNAMED = "?column?"
_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")
_NOT_PLAIN = re.compile(r"col[0-9]+|true|false|null")  # DuckDB's names for VALUES, literals
_IDENT = rb'(?:"(?:[^"]|"")*"|[A-Za-z_][\w$]*)'
_FUNCTION_HEAD = re.compile(rb"\s*(" + _IDENT + rb"(?:\s*\.\s*" + _IDENT + rb")*)\s*\(")
_NO_LOCATION = 2**64 - 1
# Postgres's typname for the ways a type may be written (the rest are written as named).
_TYPE_NAMES = {
    "int": "int4", "integer": "int4", "bigint": "int8", "smallint": "int2",
    "double precision": "float8", "float": "float8", "double": "float8", "real": "float4",
    "decimal": "numeric", "boolean": "bool", "character varying": "varchar",
    "character": "bpchar", "char": "bpchar", "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp", "time with time zone": "timetz",
    "time without time zone": "time", "bit varying": "varbit", "blob": "bytea",
}  # fmt: skip
# Operators DuckDB's parser makes of Postgres syntax that Postgres names.
_OPERATOR_NAMES = {"ARRAY_CONSTRUCTOR": "array", "OPERATOR_COALESCE": "coalesce"}


def pg_names(text: str, duck_names: list[str]) -> list[str] | None:
    """Postgres's names for the columns DuckDB named `duck_names`, or None to keep them."""
    if all(_PLAIN.fullmatch(n) and not _NOT_PLAIN.fullmatch(n) for n in duck_names):
        return None
    named = _select_list_names(text)
    if named is None:
        return None
    names: list[str | None]
    if named == ["VALUES"]:
        names = [f"column{i + 1}" for i in range(len(duck_names))]
    elif named.count(None) == 1 and len(named) <= len(duck_names):
        star = named.index(None)  # `*` expands to DuckDB's names, around it ours
        after = len(named) - star - 1
        names = named[:star] + [None] * (len(duck_names) - star - after) + named[star + 1 :]
    elif None not in named and len(named) == len(duck_names):
        names = list(named)
    else:
        return None
    return [duck if ours is None else ours for ours, duck in zip(names, duck_names, strict=True)]


CAST_MARK = "::"  # source_columns' prefix of a type cast to: '::vector'
ARROW_MARK = "->"  # source_columns' prefix of a json path into a column: '->body'


def source_columns(text: str, count: int) -> list[str | None] | None:
    """For each of the `count` result columns of `text`, the column it reads as it is
    (`v`, `t.v`, `v AS w`), `::type` for a cast to a type (`x::vector` -> '::vector'),
    `->column` for a json path into a column (`body->'k'->0` -> '->body'), else None; None
    when the select list does not line up with the result (a `*`, a VALUES list, not one
    query)."""
    items = _select_items(text)
    if items is None or len(items) != count or any(i["class"] == "STAR" for i in items):
        return None
    source = text.encode("utf-8")
    out: list[str | None] = []
    for item in items:
        if item["class"] == "COLUMN_REF":
            out.append(_folded(item["column_names"][-1], source))
        elif item["class"] == "CAST":
            out.append(CAST_MARK + _type_name(item.get("type_expr") or {}, source))
        else:
            column = _arrow_base(item)
            out.append(None if column is None else ARROW_MARK + _folded(column, source))
    return out


def _arrow_base(item: dict[str, Any]) -> str | None:
    """The column a chain of `->` starts from (DuckDB serializes `->` as a lambda), if any."""
    while item.get("class") == "LAMBDA" and item.get("syntax_type") == "SINGLE_ARROW":
        item = item.get("lhs") or {}
    return item["column_names"][-1] if item.get("class") == "COLUMN_REF" else None


@functools.lru_cache(maxsize=1024)
def _select_items(text: str) -> list[dict[str, Any]] | None:
    """The top-level select list of a plain SELECT as DuckDB parses it, or None."""
    tree = _serialized(text)
    if tree is None or tree.get("error") or len(tree.get("statements", [])) != 1:
        return None
    node = tree["statements"][0]["node"]
    if node.get("type") != "SELECT_NODE":
        return None
    return node.get("select_list") or None


@functools.lru_cache(maxsize=1024)
def _select_list_names(text: str) -> list[str | None] | None:
    """Names of the top-level select items (None for a `*`), ['VALUES'] for a VALUES
    list, or None when DuckDB does not read the statement as one query."""
    tree = _serialized(text)
    if tree is None or tree.get("error") or len(tree.get("statements", [])) != 1:
        return None
    node: dict[str, Any] | None = tree["statements"][0]["node"]
    ctes: dict[str, dict[str, Any]] = {}
    while node is not None:
        for cte in (node.get("cte_map") or {}).get("map", []):
            if not cte["value"].get("aliases"):
                ctes[cte["key"]] = cte["value"].get("query_node")
        if node.get("type") == "SET_OPERATION_NODE":  # UNION: named by its first branch
            node = (node.get("children") or [node.get("left")])[0]
            continue
        if _values_list(node):
            return ["VALUES"]
        inner = _star_source(node, ctes)  # SELECT * FROM (subquery) or a CTE: its names
        if inner is None:
            break
        node = inner
    if node is None:
        return None
    items = node.get("select_list") or []
    source = text.encode("utf-8")
    return [None if item["class"] == "STAR" else _name(item, source)[0] for item in items]


def _star_source(node: dict[str, Any], ctes: dict[str, Any]) -> dict[str, Any] | None:
    """The query whose columns `SELECT * FROM <it>` returns as they are: a subquery or a
    CTE without column aliases; None for anything else."""
    items = node.get("select_list") or []
    if len(items) != 1 or items[0]["class"] != "STAR" or items[0].get("exclude_list"):
        return None
    if items[0].get("replace_list") or items[0].get("columns") or items[0].get("expr"):
        return None
    source = node.get("from_table") or {}
    if source.get("column_name_alias"):
        return None
    if source.get("type") == "SUBQUERY":
        return (source.get("subquery") or {}).get("node")
    if source.get("type") == "BASE_TABLE" and not source.get("schema_name"):
        return ctes.get(source.get("table_name", ""))
    return None


def _values_list(node: dict[str, Any]) -> bool:
    """`VALUES (...)` or `SELECT * FROM (VALUES ...) t`: Postgres's column1, column2..."""
    items = node.get("select_list") or []
    if len(items) != 1 or items[0]["class"] != "STAR" or items[0].get("relation_name"):
        return False
    source = node.get("from_table") or {}
    if source.get("type") == "SUBQUERY" and not source.get("column_name_alias"):
        source = (source.get("subquery") or {}).get("node", {}).get("from_table") or {}
    return source.get("type") == "EXPRESSION_LIST" and not source.get("column_name_alias")


def _name(item: dict[str, Any], source: bytes) -> tuple[str, int]:
    """(name, strength) as FigureColnameInternal: 2 a real name, 1 a type's or 'case',
    0 none (then ?column?)."""
    alias = item.get("alias")
    if alias:
        return _folded(alias, source), 2
    kind, cls = item.get("type", ""), item["class"]
    if cls == "COLUMN_REF":
        return _folded(item["column_names"][-1], source), 2
    if cls in ("FUNCTION", "WINDOW"):
        if item.get("is_operator"):
            return UNNAMED, 0
        written = _written_function(item, source)
        return written or item.get("function_name", UNNAMED).replace("count_star", "count"), 2
    if cls == "CAST":
        name, strength = _name(item["child"], source)
        if strength > 1:
            return name, strength
        return _type_name(item.get("type_expr") or {}, source), 1
    if cls == "CASE":
        otherwise = item.get("else_expr")
        if otherwise is not None:
            name, strength = _name(otherwise, source)
            if strength > 1:
                return name, strength
        return "case", 1
    if cls == "SUBQUERY":
        sub = item.get("subquery_type")
        if sub in ("EXISTS", "ARRAY"):
            return sub.lower(), 2
        if sub == "SCALAR":
            inner = item["subquery"]["node"].get("select_list") or []
            if inner and inner[0]["class"] != "STAR":
                return _name(inner[0], source)
        return UNNAMED, 0
    if cls == "OPERATOR":
        if kind in _OPERATOR_NAMES:
            return _OPERATOR_NAMES[kind], 2
        if kind in ("ARRAY_EXTRACT", "ARRAY_SLICE"):  # x[1] is named as x
            return _name(item["children"][0], source)
    return UNNAMED, 0


def _folded(name: str, source: bytes) -> str:
    """An identifier as Postgres keeps it: lower-cased unless it was written quoted."""
    if name == name.lower() or f'"{name}"'.encode() in source:
        return name
    return name.lower()


def _at(node: dict[str, Any], source: bytes) -> bytes | None:
    start = node.get("query_location", _NO_LOCATION)
    return None if start == _NO_LOCATION or start >= len(source) else source[start:]


def _written_function(item: dict[str, Any], source: bytes) -> str | None:
    """The function's last name as the statement writes it (DuckDB renames count(*) to
    count_star and extract(...) to date_part)."""
    text = _at(item, source)
    head = _FUNCTION_HEAD.match(text) if text is not None else None
    if head is None:
        return None
    last = re.split(rb"\s*\.\s*", head.group(1))[-1].decode("utf-8", "replace")
    return last[1:-1].replace('""', '"') if last.startswith('"') else last.lower()


def _type_name(type_expr: dict[str, Any], source: bytes) -> str:
    if type_expr.get("type_name") == "list" and type_expr.get("children"):
        return _type_name(type_expr["children"][0], source)  # int[] is named int4
    text = _at(type_expr, source)
    length = type_expr.get("query_location_length") or 0
    written = text[:length].decode("utf-8", "replace") if text is not None else ""
    written = written or str(type_expr.get("type_name", ""))
    written = re.sub(r"\(.*|\[.*", "", written).strip()
    if written.startswith('"'):
        return written.strip('"')
    base = " ".join(written.lower().split()).rpartition(".")[2]
    return _TYPE_NAMES.get(base, base)


@functools.cache
def _parser() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


_lock = threading.Lock()  # one DuckDB connection is not for concurrent use


def _serialized(text: str) -> dict[str, Any] | None:
    try:
        with _lock:
            row = _parser().execute("SELECT json_serialize_sql(?)", [text]).fetchone()
    except duckdb.Error:
        return None
    return json.loads(row[0]) if row else None
