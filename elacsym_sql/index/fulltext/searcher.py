"""Searching one snapshot of a full-text index: top-k keys by BM25, and snippets.

Keys, not positions, come back (`Hit(key, score)`), best first, ties broken by key: they
survive tantivy merges and are what the engine maps to rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import tantivy

from elacsym_sql.errors import InvalidParameterValue, UndefinedColumn
from elacsym_sql.index.analyzer import build_analyzer
from elacsym_sql.index.fulltext.query import (
    ColumnWeight,
    build_query,
    check_query,
    leading_text,
    parse_columns,
)
from elacsym_sql.index.fulltext.spec import KEY, KEY_VALUE, FtsSpec, Key, key_query, key_set

#: A filter of n allowed keys runs inside tantivy (a term set intersected with the query,
#: cost ~ n) when n^2 <= ALLOWED_IN_INDEX * k * docs; otherwise hits are over-fetched and
#: filtered here (cost ~ k * docs / n). Crossover measured at n ~ 100 for k=10 on 5k docs.
ALLOWED_IN_INDEX = 0.2


class Hit(NamedTuple):
    key: Key
    score: float


class Searcher:
    """One consistent snapshot of a namespace's full-text index."""

    def __init__(self, spec: FtsSpec, index: Any) -> None:
        self.spec = spec
        self._index = index  # keeps the memory-mapped files alive
        self._schema = index.schema
        self._searcher = index.searcher()
        self._analyzer = build_analyzer(spec.options)

    @property
    def num_docs(self) -> int:
        return self._searcher.num_docs

    def search(
        self,
        text: str,
        k: int,
        *,
        mode: str = "or",
        columns: str | None = None,
        allowed: Iterable[Key] | None = None,
    ) -> list[Hit]:
        """Top `k` (key, BM25 score), best first, ties by key; only `allowed` keys if given."""
        if not isinstance(k, int) or k <= 0:
            raise InvalidParameterValue(f"k must be a positive integer, not {k!r}")
        fields = parse_columns(columns, self.spec.columns) or [
            ColumnWeight(f, 1.0) for f in self.spec.default_fields
        ]
        query = build_query(self._index, self._analyzer, check_query(text, mode), mode, fields)
        if query is None:
            return []
        if allowed is None:
            return self._top(query, k, None)
        allowed_set = key_set(allowed, self.spec)
        if not allowed_set:
            return []
        docs = max(1, self._searcher.num_docs)
        if len(allowed_set) ** 2 <= ALLOWED_IN_INDEX * k * docs:
            only = key_query(self._schema, self.spec, list(allowed_set))
            query = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, query),
                    (tantivy.Occur.Must, tantivy.Query.const_score_query(only, 0.0)),
                ]
            )
            return self._top(query, k, None)
        fraction = min(1.0, len(allowed_set) / docs)
        return self._top(query, k, allowed_set, first=int(2 * k / fraction) + 16)

    def snippets(
        self,
        text: str,
        docs: Sequence[str | Sequence[str] | None],
        column: str,
        *,
        mode: str = "or",
        max_chars: int = 150,
    ) -> list[str | None]:
        """The best fragment of each of `docs` (values of `column`) as HTML, matches in <b>.

        A document without a match gives its beginning; NULL gives None.
        """
        if column not in self.spec.columns:
            raise UndefinedColumn(f"column {column!r} is not a full-text column")
        query = build_query(
            self._index, self._analyzer, check_query(text, mode), mode, [ColumnWeight(column, 1.0)]
        )
        generator = None
        if query is not None:
            generator = tantivy.SnippetGenerator.create(self._searcher, query, self._schema, column)
            generator.set_max_num_chars(max_chars)
        out: list[str | None] = []
        for value in docs:
            if value is None:
                out.append(None)
                continue
            values = [value] if isinstance(value, str) else [v for v in value if v is not None]
            html = ""
            if generator is not None:
                doc = tantivy.Document()
                for v in values:
                    doc.add_text(column, v)
                html = generator.snippet_from_doc(doc).to_html()
            out.append(html or leading_text(" ".join(values), max_chars))
        return out

    # -- internals --------------------------------------------------------------------------

    def _top(self, query: Any, k: int, accept: Any = None, first: int = 0) -> list[Hit]:
        """Fetch until the k-th hit is certain: k qualifying hits scoring above every
        unseen document, so that ties at the cut are broken by key, never by layout."""
        limit = max(first, k + 1)
        while True:
            hits = self._searcher.search(query, limit, count=False).hits
            keys = self._keys([address for _, address in hits])
            found = [
                Hit(key, score)
                for (score, _), key in zip(hits, keys, strict=True)
                if accept is None or key in accept
            ]
            if len(hits) < limit:
                break  # every match seen
            floor = hits[-1][0]
            if sum(1 for h in found if h.score > floor) >= k:
                break
            limit *= 4
        found.sort(key=lambda h: (-h.score, h.key))
        return found[:k]

    def _keys(self, addresses: list[Any]) -> list[Key]:
        if self.spec.key_is_int:
            return self._searcher.fast_field_values(KEY, addresses)
        return [self._searcher.doc(a).get_first(KEY_VALUE).decode() for a in addresses]
