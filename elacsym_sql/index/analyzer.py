"""Text analysis for full-text search: one tantivy analyzer per namespace, from its options.

The same `TextAnalyzer` object indexes documents (registered on the tantivy index) and
analyses query text (`TextAnalyzer.analyze` / `pre_tokenize`), so a query word and an
indexed word become the same term by construction. Pipeline: tantivy's simple tokenizer
(runs of Unicode letters and digits), drop tokens longer than 40 bytes, lower-case
(unless `case_sensitive`), stop words (where tantivy has a list), Snowball stemmer.

Query text is checked, parsed and turned into tantivy queries in `fulltext/query.py`.
"""

from __future__ import annotations

import math

import tantivy

from elacsym_sql.errors import InvalidParameterValue, NotSupportedError
from elacsym_sql.schema import LANGUAGES, Options

#: Name the analyzer is registered under on every index (re-registered after each open:
#: tantivy does not persist custom analyzers).
TOKENIZER = "elacsym"
#: Languages with a built-in tantivy stop word list; the other 5 of the 18 have none.
STOPWORD_LANGUAGES = frozenset(
    {"danish", "dutch", "english", "finnish", "french", "german", "hungarian", "italian",
     "norwegian", "portuguese", "russian", "spanish", "swedish"}
)  # fmt: skip
#: tantivy's BM25 constants; tantivy 0.27 offers no way to change them.
BM25_K1 = 1.2
BM25_B = 0.75
MAX_TOKEN_BYTES = 40


def check_options(options: Options) -> None:
    """Refuse options this index cannot honour (call at CREATE TABLE, not only at search)."""
    if options.language not in LANGUAGES:
        raise InvalidParameterValue(f"unsupported language {options.language!r}")
    for name, value, fixed in (("k1", options.k1, BM25_K1), ("b", options.b, BM25_B)):
        if not math.isclose(value, fixed):
            raise NotSupportedError(
                f"full-text option {name} = {value:g} is not supported",
                hint=f"tantivy's BM25 fixes k1 = {BM25_K1:g} and b = {BM25_B:g}; omit {name}",
            )


def build_analyzer(options: Options) -> tantivy.TextAnalyzer:
    """The namespace's analyzer: identical for documents and queries."""
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(
        tantivy.Filter.remove_long(MAX_TOKEN_BYTES)
    )
    if not options.case_sensitive:
        builder = builder.filter(tantivy.Filter.lowercase())
    if options.stopwords and options.language in STOPWORD_LANGUAGES:
        builder = builder.filter(tantivy.Filter.stopword(options.language))
    if options.stemming:
        builder = builder.filter(tantivy.Filter.stemmer(options.language))
    return builder.build()


def query_terms(analyzer: tantivy.TextAnalyzer, text: str) -> list[str]:
    """Distinct terms of `text`, in first-seen order: a repeated word counts once."""
    return list(dict.fromkeys(analyzer.analyze(text)))


def phrase_terms(analyzer: tantivy.TextAnalyzer, text: str) -> list[tuple[int, str]]:
    """(position, term) pairs: a removed stop word keeps its gap, as at indexing."""
    tokens = analyzer.pre_tokenize(text).tokens
    if not tokens:
        return []
    first = tokens[0].position
    return [(t.position - first, t.text) for t in tokens]
