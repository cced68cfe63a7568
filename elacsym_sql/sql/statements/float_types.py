"""Which declared float columns are double precision, as Postgres reads them (decision 0073).

Postgres's `float` (and `float(p)` for p of 25 to 53) is double precision; `real`,
`float4` and `float(p)` for p up to 24 are real. sqlglot reads `float`, `real` and
`float(p)` alike, and DuckDB's FLOAT is 4 bytes, so a SQLAlchemy `Float` column lost
digits. The words are read from the statement's tokens (char_types.column_items). Arrays
keep DuckDB's meaning: `FLOAT[d]` is a 4-byte vector, as the rest of the product documents.
"""

from __future__ import annotations

from sqlglot.tokens import TokenType

from .char_types import column_items, column_name

REAL_PRECISION = 24  # float(p) with p up to this is real, above it double precision


def declared_doubles(sql: str) -> set[str]:
    """Names of the scalar columns a CREATE TABLE declares `float` or `float(p > 24)`."""
    found = set()
    for item in column_items(sql):
        name = column_name(item)
        if name is None or item[1].text.lower() != "float":
            continue
        rest = item[2:]
        precision = None
        if len(rest) >= 3 and rest[0].token_type == TokenType.L_PAREN:
            if rest[1].token_type != TokenType.NUMBER or rest[2].token_type != TokenType.R_PAREN:
                continue
            precision, rest = int(rest[1].text), rest[3:]
        if rest and rest[0].token_type == TokenType.L_BRACKET:
            continue  # FLOAT[d]: a vector of 4-byte floats
        if precision is None or precision > REAL_PRECISION:
            found.add(name)
    return found
