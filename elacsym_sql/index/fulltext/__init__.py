"""Full-text search: one tantivy index per namespace, immutable files, namespace-wide BM25.

tantivy computes BM25 statistics over all segments of one index, so a document's score
does not depend on how rows were split into folds (docs/decisions/0008-full-text-design.md).

- `fold(spec, base, ops, io, prefix, wal_hwm=, live_rows=)` (`versions.py`): the indexer's
  step. Links the base version's cached files into a scratch directory, applies upserts and
  deletes (`writes.py`), commits, waits for tantivy's merges, uploads the new files as the
  next `FtsState`. When too many of its documents would be deleted ones, it rebuilds from
  the live rows instead (docs/decisions/0012-fulltext-deleted-docs.md).
- `LiveIndex.view(state, tail)` (`live.py`): what a reader searches: a version plus the
  unindexed WAL tail applied to a private scratch copy, scored by tantivy itself.
- `Searcher.search(text, k, mode=, columns=, allowed=)` (`searcher.py`, queries built by
  `query.py`) -> `[Hit(key, score)]`, best first, ties by key; `Searcher.snippets(...)`.
- `FtsSpec` (`spec.py`): the namespace's tantivy fields and how keys become terms.

Imports only errors, schema and the analyzer.
"""

from elacsym_sql.index.fulltext.live import LiveIndex
from elacsym_sql.index.fulltext.searcher import Hit, Searcher
from elacsym_sql.index.fulltext.spec import FtsSpec, Key
from elacsym_sql.index.fulltext.versions import MAX_DELETED_FRACTION, FtsState, ObjectIO, fold
from elacsym_sql.index.fulltext.writes import Delete, Op, Upsert

__all__ = [
    "MAX_DELETED_FRACTION",
    "Delete",
    "FtsSpec",
    "FtsState",
    "Hit",
    "Key",
    "LiveIndex",
    "ObjectIO",
    "Op",
    "Searcher",
    "Upsert",
    "fold",
]
