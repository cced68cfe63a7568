"""quote_ident, quote_literal, quote_nullable and pg_get_keywords as Postgres has them.

They are macros in DuckDB's main schema, so clients call them with or without
`pg_catalog.` (pg_rewrite.py drops that prefix from functions it does not answer itself).
"""

from __future__ import annotations

import re

# Postgres's keywords that are not unreserved, by pg_get_keywords()'s category: reserved,
# reserved but allowed as a function or type name, unreserved but not allowed as one.
# quote_ident quotes them, as it quotes anything but lower-case plain names.
_CATEGORIES = {
    "R": (
        "reserved",
        """all analyse analyze and any array as asc asymmetric both case cast
check collate column constraint create current_catalog current_date current_role current_time
current_timestamp current_user default deferrable desc distinct do else end except false
fetch for foreign from grant group having in initially intersect into lateral leading limit
localtime localtimestamp not null offset on only or order placing primary references
returning select session_user some symmetric table then to trailing true union unique user
using variadic when where window with""",
    ),
    "T": (
        "reserved (can be function or type name)",
        """authorization binary collation
concurrently cross current_schema freeze full ilike inner is isnull join left like natural
notnull outer overlaps right similar tablesample verbose""",
    ),
    "C": (
        "unreserved (cannot be function or type name)",
        """between bigint bit boolean char
character coalesce dec decimal exists extract float greatest grouping inout int integer
interval least national nchar none normalize nullif numeric out overlay position precision
real row setof smallint substring time timestamp treat trim values varchar xmlattributes
xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize
xmltable""",
    ),
}
KEYWORDS = frozenset(w for _, words in _CATEGORIES.values() for w in words.split())
_KEYWORD_ROWS = ", ".join(
    f"('{w}', '{code}', '{desc}')"
    for code, (desc, words) in _CATEGORIES.items()
    for w in words.split()
)


def quote_ident(name: str) -> str:
    """`name` as Postgres's quote_ident writes it (as the macro below does, in Python)."""
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) and name not in KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


_KEYWORD_LIST = "[" + ", ".join(f"'{k}'" for k in sorted(KEYWORDS)) + "]"
_Q = "''''"  # a SQL literal holding one single quote
_BACKSLASH = "chr(92)"

QUOTING_MACROS = [
    "CREATE OR REPLACE MACRO main.quote_ident(s) AS CASE WHEN s IS NULL THEN NULL"
    " WHEN regexp_full_match(s::VARCHAR, '[a-z_][a-z0-9_$]*')"
    f" AND NOT list_contains({_KEYWORD_LIST}, s::VARCHAR) THEN s::VARCHAR"
    """ ELSE '"' || replace(s::VARCHAR, '"', '""') || '"' END""",
    # With a backslash in it, Postgres writes an E'' string with the backslashes doubled.
    "CREATE OR REPLACE MACRO main.quote_literal(s) AS CASE WHEN s IS NULL THEN NULL"
    f" WHEN contains(s::VARCHAR, {_BACKSLASH}) THEN 'E' || {_Q} || replace(replace(s::VARCHAR,"
    f" {_BACKSLASH}, {_BACKSLASH} || {_BACKSLASH}), {_Q}, {_Q} || {_Q}) || {_Q}"
    f" ELSE {_Q} || replace(s::VARCHAR, {_Q}, {_Q} || {_Q}) || {_Q} END",
    "CREATE OR REPLACE MACRO main.quote_nullable(s) AS coalesce(main.quote_literal(s), 'NULL')",
    # pgJDBC's getSQLKeywords reads it (the unreserved keywords are left out).
    "CREATE OR REPLACE MACRO main.pg_get_keywords() AS TABLE SELECT word, catcode,"
    " true AS barelabel, catdesc, 'can be bare label' AS baredesc"
    f" FROM (VALUES {_KEYWORD_ROWS}) AS k(word, catcode, catdesc)",
]
