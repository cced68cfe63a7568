"""pgvector's SQL as DuckDB runs it: the `vector` type and the distance operators.

- `vector(n)` (a column type, a cast) is `FLOAT[n]`, the namespace's vector column type;
  a bare `vector` (`'[1,2,3]'::vector`) is a DuckDB type alias of `FLOAT[]`. In CREATE
  TABLE (of a namespace, which DuckDB never reads) `vector(n)` stays, so the column is
  known as pgvector's type and sent as it (ddl.py, sql/declared_types.py).
- `<->` (Euclidean), `<=>` (cosine distance, 1 - cos) and `<#>` (negative inner product)
  are macros over DuckDB's list functions, so they take a vector column, a list parameter
  or the text '[1,2,3]' on either side. DuckDB's parser reads `#` as the start of a
  positional reference, so `<#>` is spelled `<~>` before DuckDB sees it; like `<->`, any
  such operator binds as Postgres's "any other operator" (tighter than comparisons,
  looser than + and -).
Rewrites work on the text outside literals, quoted names and comments.
"""

from __future__ import annotations

import re

import duckdb

NEGATIVE_INNER_PRODUCT = "<~>"  # what `<#>` is spelled as for DuckDB
# pgvector's operators, by the namespace metric whose index orders by them.
METRIC_OF_OPERATOR = {"<=>": "cosine", "<->": "l2", "<#>": "dot", NEGATIVE_INNER_PRODUCT: "dot"}

_MACROS = {
    "<->": "list_distance(a::FLOAT[], b::FLOAT[])",
    "<=>": "list_cosine_distance(a::FLOAT[], b::FLOAT[])",
    NEGATIVE_INNER_PRODUCT: "-list_inner_product(a::FLOAT[], b::FLOAT[])",
}
# Literals, quoted names and comments are kept as they are; the named groups are rewritten.
_PIECES = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|\$((?:[A-Za-z_]\w*)?)\$.*?\$\1\$"""
    r"|(?P<op><\#>)|(?P<end>;)"
    r"|(?P<vector>(?<![\w.\"])vector\s*\(\s*(?P<dim>[0-9]+)\s*\))",
    re.DOTALL | re.IGNORECASE,
)
_CREATE_TABLE = re.compile(r"\s*CREATE\s+(?:UNLOGGED\s+)?TABLE\b", re.IGNORECASE)


def install_pgvector(cur: duckdb.DuckDBPyConnection) -> None:
    """The `vector` type alias and the operator macros, in the catalog of `cur`."""
    exists = cur.execute("SELECT count(*) FROM duckdb_types() WHERE type_name = 'vector'")
    if not exists.fetchall()[0][0]:
        cur.execute("CREATE TYPE vector AS FLOAT[]")
    for op, body in _MACROS.items():
        cur.execute(f'CREATE OR REPLACE MACRO main."{op}"(a, b) AS {body}')


def rewrite_pgvector(sql: str) -> str:
    """`sql` with `vector(n)` as FLOAT[n] and `<#>` as DuckDB reads it."""
    if "<#>" not in sql and "vector" not in sql.lower():
        return sql

    start = 0  # where the statement of the piece being read begins

    def replace(m: re.Match[str]) -> str:
        nonlocal start
        if m.group("end"):
            start = m.end()
        elif m.group("op"):
            return NEGATIVE_INNER_PRODUCT
        elif m.group("vector") and not _CREATE_TABLE.match(sql, start):
            return f"FLOAT[{m.group('dim')}]"
        return m.group()

    return _PIECES.sub(replace, sql)
