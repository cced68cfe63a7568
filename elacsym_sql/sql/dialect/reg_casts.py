"""`::regtype` and `::regnamespace` casts, and where a regclass prints its name, as
Postgres shows them.

Postgres's regtype and regclass are OIDs that print as names: `23::regtype` shows
`integer`, `'docs'::regclass` shows `docs`, while `attrelid = 'docs'::regclass` compares
OIDs. DuckDB has no such type, so each cast is rewritten by where it stands: a cast that
is a whole item of a SELECT list (or is cast on to text) is the name; elsewhere (compared,
a function's argument) the OID. A column or number cast `::regtype` is always the name, as
psql and drivers only show those.
"""

from __future__ import annotations

from sqlglot.tokens import Token, TokenType

from .pg_rewrite import SHIM

# Tokens after which an expression starts a SELECT list item.
_ITEM_STARTS = {TokenType.SELECT, TokenType.DISTINCT, TokenType.COMMA}
# Keywords that end the SELECT list (or are not in one at all).
_CLAUSES = {"from", "where", "group", "order", "having", "limit", "on", "set", "values",
            "returning", "into", "window", "union", "except", "intersect", "when", "then",
            "else", "by", "using"}  # fmt: skip
_TEXT_TYPES = ("text", "varchar", "name")


def _word(tokens: list[Token], i: int) -> str:
    return tokens[i].text.lower() if 0 <= i < len(tokens) else ""


def shown_as_name(tokens: list[Token], first: int, last: int) -> bool:
    """Whether the cast spanning tokens first..last is printed rather than used: a whole
    item of a SELECT list, or cast on to text."""
    if _word(tokens, last + 1) == "::" and _word(tokens, last + 2) in _TEXT_TYPES:
        return True
    after = tokens[last + 1] if last + 1 < len(tokens) else None
    if after is not None and not (
        after.token_type in (TokenType.COMMA, TokenType.SEMICOLON, TokenType.R_PAREN)
        or after.token_type in (TokenType.FROM, TokenType.ALIAS)
        or (after.token_type == TokenType.VAR and _word(tokens, last + 2) in ("", ",", "from"))
    ):
        return False
    if first == 0 or tokens[first - 1].token_type not in _ITEM_STARTS:
        return False
    depth = 0
    for j in range(first - 1, -1, -1):  # the clause this item belongs to, at its depth
        kind = tokens[j].token_type
        if kind == TokenType.R_PAREN:
            depth += 1
        elif kind == TokenType.L_PAREN:
            if depth == 0:
                return False  # inside parentheses: a function's argument or a list
            depth -= 1
        elif depth == 0 and kind == TokenType.SELECT:
            return True
        elif depth == 0 and tokens[j].text.lower() in _CLAUSES:
            return False
    return False


def operand_start(tokens: list[Token], i: int) -> int | None:
    """The first token of the operand of the `::` at `i`: a column (`a.atttypid`), a
    number, or either cast on (`1043::oid`); None for anything else."""
    j = i - 1
    while j >= 1 and tokens[j - 1].token_type == TokenType.DCOLON:
        j -= 2  # `x::oid::regtype`: back over the casts to x
    if j < 0:
        return None
    if tokens[j].token_type == TokenType.NUMBER:
        return j
    if tokens[j].token_type != TokenType.VAR:
        return None
    while j >= 2 and tokens[j - 1].token_type == TokenType.DOT:
        j -= 2
    return j


def regtype_edits(sql: str, tokens: list[Token]) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for each `::regtype` cast: the type's name, or its OID
    where a string literal's cast is used rather than shown; and each column or number
    cast `::regnamespace`: the schema's name."""
    edits = []
    for i, tok in enumerate(tokens):
        kind = _word(tokens, i + 1)
        if tok.token_type != TokenType.DCOLON or kind not in ("regtype", "regnamespace"):
            continue
        end = tokens[i + 1].end + 1
        before = tokens[i - 1] if i else None
        if kind == "regnamespace":  # a column's schema OID, as psql shows it: the name
            first = operand_start(tokens, i)
            if first is not None:
                operand = sql[tokens[first].start : tok.start]
                edits.append((tokens[first].start, end, f"{SHIM}.regnamespace_name({operand})"))
            continue
        if before is not None and before.token_type == TokenType.STRING:
            oid = f"main.to_regtype('{before.text.replace(chr(39), chr(39) * 2)}')"
            shown = shown_as_name(tokens, i - 1, i + 1)
            edits.append((before.start, end, f"{SHIM}.regtype_name({oid})" if shown else oid))
            continue
        first = operand_start(tokens, i)
        if first is not None:
            operand = sql[tokens[first].start : tok.start]
            edits.append((tokens[first].start, end, f"{SHIM}.regtype_name({operand})"))
    return edits
