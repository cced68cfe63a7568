"""The token budget of a statement's text (`--max-statement-tokens`), checked before any
parser sees it: the SQL layer parses with sqlglot at ~40 us and ~4 kB per token, so a
2 MB statement of a million numbers cost 46 s and 3.7 GB (decision 0023)."""

from __future__ import annotations

import re

from ..errors import ProgramLimitExceeded

# One match per token; a quoted string, quoted name or comment is one match however long.
_TOKEN = re.compile(
    r"'[^']*(?:''[^']*)*'?|\"[^\"]*(?:\"\"[^\"]*)*\"?|--[^\n]*|/\*.*?(?:\*/|\Z)|\$\w*\$"
    r"|[\w.$]+|\S",
    re.S,
)


def check_tokens(sql: str, limit: int) -> None:
    """54000 when `sql` has more than `limit` tokens (0: no limit). Costs at most `limit`
    regex matches, however long the text."""
    if not limit or len(sql) <= limit:  # fewer characters than the limit: fewer tokens
        return
    for n, _ in enumerate(_TOKEN.finditer(sql)):
        if n >= limit:
            raise ProgramLimitExceeded(
                f"statement is too long: more than {limit} tokens",
                hint="the server's --max-statement-tokens sets this limit",
            )
