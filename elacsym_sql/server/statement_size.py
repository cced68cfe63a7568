"""The size budget of a statement's text (`--max-statement-length`, `--max-statement-tokens`),
checked before any parser sees it: the SQL layer parses with sqlglot at ~40 us and ~4 kB
per token (a 2 MB statement of a million numbers cost 46 s and 3.7 GB) and reads string
literals character by character (a 200 MB one: 25 s, 1.9 GB) (decision 0023)."""

from __future__ import annotations

import re

from ..errors import ProgramLimitExceeded
from .options import ServerOptions

# One match per token; a quoted string, quoted name or comment is one match however long.
_TOKEN = re.compile(
    r"'[^']*(?:''[^']*)*'?|\"[^\"]*(?:\"\"[^\"]*)*\"?|--[^\n]*|/\*.*?(?:\*/|\Z)|\$\w*\$"
    r"|[\w.$]+|\S",
    re.S,
)


def check_statement(sql: str, options: ServerOptions) -> None:
    """54000 when `sql` is longer than the limits allow (0: no limit). Costs at most
    `max_statement_tokens` regex matches, however long the text."""
    length, tokens = options.max_statement_length, options.max_statement_tokens
    if length and len(sql) > length:
        raise ProgramLimitExceeded(
            f"statement is too long: {len(sql)} characters, more than {length}",
            hint="send data as parameters or with COPY; --max-statement-length sets this",
        )
    if not tokens or len(sql) <= tokens:  # fewer characters than the limit: fewer tokens
        return
    for n, _ in enumerate(_TOKEN.finditer(sql)):
        if n >= tokens:
            raise ProgramLimitExceeded(
                f"statement is too long: more than {tokens} tokens",
                hint="the server's --max-statement-tokens sets this limit",
            )
