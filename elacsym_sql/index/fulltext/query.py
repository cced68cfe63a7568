"""What users pass to `text_search`, checked and turned into tantivy queries: the query
text, the mode (`or`, `and`, `phrase`, `query`) and `columns := 'title^2, body'`.

Terms come from the namespace's analyzer (`index/analyzer.py`), so any text is accepted in
the modes other than `query`, which passes tantivy's own syntax through.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import tantivy

from elacsym_sql.errors import InvalidParameterValue, SyntaxError, UndefinedColumn
from elacsym_sql.index.analyzer import phrase_terms, query_terms

MAX_QUERY_CHARS = 10_000
MODES = ("or", "and", "phrase", "query")


def check_query(text: object, mode: str) -> str:
    """The query text, or a clear error for what no mode accepts."""
    if mode not in MODES:
        raise InvalidParameterValue(
            f"invalid text search mode {mode!r}", hint=f"mode is one of {', '.join(MODES)}"
        )
    if not isinstance(text, str) or not text.strip():
        raise InvalidParameterValue("text search query must be a non-empty string")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidParameterValue(
            f"text search query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}"
        )
    return text


@dataclass(frozen=True)
class ColumnWeight:
    column: str
    weight: float


_COLUMN_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\^\s*([^,\s]+))?\s*")


def parse_columns(spec: str | None, full_text: tuple[str, ...]) -> list[ColumnWeight] | None:
    """`'title^2, body'` -> weights; None when no columns were given (search everything)."""
    if spec is None or not spec.strip():
        return None
    out: dict[str, float] = {}
    for part in spec.split(","):
        m = _COLUMN_RE.fullmatch(part)
        if not m:
            raise InvalidParameterValue(
                f"invalid columns entry {part.strip()!r}", hint="write columns := 'title^2, body'"
            )
        name = m.group(1).lower()
        if name not in full_text:
            raise UndefinedColumn(
                f"column {name!r} is not a full-text column",
                hint=f"full-text columns: {', '.join(full_text) or '(none)'}",
            )
        try:
            weight = float(m.group(2)) if m.group(2) else 1.0
        except ValueError:
            weight = math.nan
        if not (math.isfinite(weight) and weight > 0):
            raise InvalidParameterValue(f"column weight {m.group(2)!r} must be a positive number")
        out[name] = weight
    return [ColumnWeight(c, w) for c, w in out.items()]


def build_query(
    index: Any, analyzer: tantivy.TextAnalyzer, text: str, mode: str, fields: list[ColumnWeight]
) -> Any:
    """The tantivy query for user `text`, or None when no term survives analysis.

    or: any term in any field, scores summed; and: every term, each in some field;
    phrase: the terms at their positions within one field value; query: tantivy syntax,
    unqualified terms in `fields`. Field weights multiply that field's BM25 score.
    """
    q, occur, schema = tantivy.Query, tantivy.Occur, index.schema
    if mode == "query":
        boosts = {f.column: f.weight for f in fields if f.weight != 1.0}
        try:
            return index.parse_query(text, [f.column for f in fields], boosts or None)
        except ValueError as exc:
            message = str(exc)
            if message.startswith("Field does not exist"):
                raise UndefinedColumn(f"full-text query: {message}") from None
            raise SyntaxError(
                f"invalid full-text query: {message}",
                hint="tantivy query syntax; modes 'or', 'and' and 'phrase' take any text",
            ) from None

    def weighted(query: Any, weight: float) -> Any:
        return query if weight == 1.0 else q.boost_query(query, weight)

    if mode == "phrase":
        pairs = phrase_terms(analyzer, text)
        if len(pairs) > 1:
            return q.boolean_query(
                [
                    (occur.Should, weighted(q.phrase_query(schema, f.column, pairs), f.weight))
                    for f in fields
                ]
            )
        terms = [t for _, t in pairs]
    else:
        terms = query_terms(analyzer, text)
    if not terms:
        return None

    def term(t: str, f: ColumnWeight) -> Any:
        return weighted(q.term_query(schema, f.column, t, index_option="freq"), f.weight)

    if mode == "and":
        return q.boolean_query(
            [
                (occur.Must, q.boolean_query([(occur.Should, term(t, f)) for f in fields]))
                for t in terms
            ]
        )
    return q.boolean_query([(occur.Should, term(t, f)) for t in terms for f in fields])


def leading_text(text: str, max_chars: int) -> str:
    """The start of `text`, cut at a word boundary, HTML-escaped like tantivy's snippets."""
    if len(text) > max_chars:
        cut = text.rfind(" ", 0, max_chars + 1)
        text = text[: cut if cut > 0 else max_chars]
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
