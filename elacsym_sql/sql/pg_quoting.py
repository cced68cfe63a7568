"""quote_ident, quote_literal and quote_nullable as Postgres writes them (DuckDB has none).

They are macros in DuckDB's main schema, so clients call them with or without
`pg_catalog.` (pg_rewrite.py drops that prefix from functions it does not answer itself).
"""

from __future__ import annotations

# Postgres's keywords that are not unreserved (pg_get_keywords() with catcode <> 'U'):
# quote_ident quotes them, as it quotes anything but lower-case plain names.
KEYWORDS = frozenset(
    """all analyse analyze and any array as asc asymmetric authorization between bigint binary bit
boolean both case cast char character check coalesce collate collation column concurrently
constraint create cross current_catalog current_date current_role current_schema current_time
current_timestamp current_user dec decimal default deferrable desc distinct do else end except
exists extract false fetch float for foreign freeze from full grant greatest group grouping
having ilike in initially inner inout int integer intersect interval into is isnull join
lateral leading least left like limit localtime localtimestamp national natural nchar none
normalize not notnull null nullif numeric offset on only or order out outer overlaps overlay
placing position precision primary real references returning right row select session_user
setof similar smallint some substring symmetric table tablesample then time timestamp to
trailing treat trim true union unique user using values varchar variadic verbose when where
window with xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi
xmlroot xmlserialize xmltable""".split()  # noqa: SIM905
)

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
]
