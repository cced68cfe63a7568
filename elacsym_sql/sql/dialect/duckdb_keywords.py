"""Names Postgres lets go unquoted that DuckDB's parser reads as its own keywords.

`at`, `asof`, `semi`, `pivot`, `qualify`, ... are ordinary names in Postgres (a log table's
`at` column, a `describe` flag) but words of DuckDB's grammar (AT TIME ZONE, ASOF JOIN,
PIVOT, QUALIFY), so `SELECT at FROM log` is a syntax error (42601) in DuckDB. Before
DuckDB sees a statement, such a word is quoted (as the lower-case name Postgres folds it
to) wherever the tokens around it show it is a name, and left alone where it begins
DuckDB's construct, so DuckDB's own syntax (ASOF JOIN, SUMMARIZE t, x GLOB 'a*') keeps
working. Literals, quoted names and comments are skipped. `by` is left out: a column
named `by` is rare and GROUP/ORDER/PARTITION BY are everywhere.
"""

from __future__ import annotations

import re

_TOKENS = re.compile(
    r"(?P<comment>--[^\n]*|/\*.*?\*/)"
    r"""|(?P<literal>[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|"(?:[^"]|"")*"|"""
    r"\$(?P<tag>(?:[A-Za-z_]\w*)?)\$.*?\$(?P=tag)\$)"
    r"|(?P<word>[A-Za-z_][\w$]*)|(?P<param>\$[0-9]+|\?)|(?P<number>[0-9][\w.]*)"
    r"|(?P<other>\S)",
    re.DOTALL,
)
_JOIN_WORDS = frozenset({"join", "left", "right", "inner", "outer", "full", "cross"})
_STATEMENT_WORDS = frozenset(
    {"describe", "show", "summarize", "pivot", "unpivot", "pivot_wider", "pivot_longer"}
)
WORDS = frozenset({"at", "asof", "positional", "anti", "semi", "glob", "unpack", "lambda",
                   "qualify"}) | _STATEMENT_WORDS  # fmt: skip
# Words after which a token ends an operand: QUALIFY after one begins its clause.
_CLAUSE_WORDS = frozenset(
    {"select", "where", "and", "or", "not", "on", "by", "set", "distinct", "having", "when",
     "then", "else", "case", "returning", "in", "is", "like", "between", "as", "from"}
)  # fmt: skip
_QUICK = re.compile(r"\b(?:" + "|".join(sorted(WORDS)) + r")\b", re.IGNORECASE)


def quote_duckdb_keywords(sql: str) -> str:
    """`sql` with DuckDB-only keywords that stand for names quoted as names."""
    if _QUICK.search(sql) is None:
        return sql
    tokens = [m for m in _TOKENS.finditer(sql) if m.group("comment") is None]
    out, last = [], 0
    for i, tok in enumerate(tokens):
        word = (tok.group("word") or "").lower()
        if word not in WORDS:
            continue
        before = tokens[i - 1] if i else None
        after = tokens[i + 1 : i + 3]
        if before is not None and before.group() == ".":
            continue  # t.at: DuckDB reads a qualified name as a name already
        if _is_name(word, before, after):
            out.append(sql[last : tok.start()])
            out.append(f'"{word}"')
            last = tok.end()
    return "".join(out) + sql[last:] if out else sql


def _lower(tok: re.Match[str] | None) -> str:
    return tok.group().lower() if tok is not None else ""


def _is_name(word: str, before: re.Match[str] | None, after: list[re.Match[str]]) -> bool:
    nxt = _lower(after[0]) if after else ""
    if word == "at":
        return nxt != "time"  # x AT TIME ZONE 'UTC'
    if word in ("asof", "positional", "anti", "semi"):
        return nxt not in _JOIN_WORDS  # ASOF JOIN, LEFT ANTI JOIN
    if word == "glob":  # name GLOB 'pattern', glob('*.csv')
        operand = after and (after[0].group("param") or after[0].group("literal"))
        return not (nxt == "(" or (operand and not nxt.startswith('"')))
    if word == "unpack":
        return nxt != "("
    if word == "lambda":  # lambda x: ..., lambda x, y: ...
        return not (len(after) == 2 and after[0].group("word") and _lower(after[1]) in (":", ","))
    if word == "qualify":  # begins its clause after an operand: FROM t QUALIFY, ... 1 QUALIFY
        prev = _lower(before)
        return before is None or prev in _CLAUSE_WORDS or not (
            before.group("word") or before.group("number") or before.group("literal")
            or prev == ")"
        )  # fmt: skip
    # DESCRIBE t, SHOW TABLES, SUMMARIZE t, PIVOT t ON ..., FROM t PIVOT (...), (DESCRIBE t)
    if before is None or nxt == "(" or _lower(before) == ";":
        return False
    return not (_lower(before) == "(" and after and after[0].group("word"))
