"""Running one search for the SQL table functions and for the direct path alike: SQL's
arguments (NULL options, `filter :=` as SQL text) made into an engine API call. The API
checks the arguments; a SQL filter is checked here and evaluated by DuckDB over the
namespace's view into the keys it admits (a KeyFilter)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa

from ...engine import DEFAULT_MODE, EngineApi, Fusion, KeyFilter, SearchResult, Snapshot
from ...metrics import searched
from ..errors import translate
from ..views import quote, rows_view
from .filter_check import checked_filter

# A filter's rows are cached per snapshot unless it may change without a write (the clock,
# randomness): those are evaluated for every search.
_VOLATILE = re.compile(
    r"\b(now|today|random|setseed|uuid|gen_random_uuid|current_\w+|get_current_\w+|"
    r"transaction_timestamp|localtime\w*)\b",
    re.IGNORECASE,
)

Vectors = np.ndarray | Sequence[np.ndarray | Sequence[float] | None]


class SearchRunner:
    def __init__(self, root: duckdb.DuckDBPyConnection, api: EngineApi) -> None:
        self._root = root
        self._api = api

    @searched("sql", "vector")
    def vector(
        self,
        snap: Snapshot,
        vectors: Vectors,
        k: int | None,
        column: str | None = None,
        filter_sql: str | None = None,
        ef: int | None = None,
        exact: bool | None = False,
        recall_target: float | None = None,
    ) -> SearchResult:
        """The k nearest rows to each query vector (a matrix, or a list of vectors that may
        hold NULLs); `filter_sql` needs `snap` to be the snapshot the namespace's view shows."""
        return self._api.vector_search(
            snap,
            vectors,
            k,  # type: ignore[arg-type]  # NULL: the API's check_k refuses it
            column=column,
            filter=self.key_filter(snap, filter_sql),
            ef=ef,
            exact=bool(exact),  # NULL: false
            recall_target=recall_target,
        )

    @searched("sql", "text")
    def text(
        self,
        snap: Snapshot,
        texts: Sequence[str | None],
        k: int | None,
        columns: str | None = None,
        filter_sql: str | None = None,
        mode: str | None = DEFAULT_MODE,
    ) -> SearchResult:
        """The k best BM25 matches of each query text (same `filter_sql` rule as vector)."""
        return self._api.text_search(
            snap,
            texts,  # type: ignore[arg-type]  # a NULL text: the API refuses it
            k,  # type: ignore[arg-type]
            columns=columns,
            filter=self.key_filter(snap, filter_sql),
            mode=mode or DEFAULT_MODE,
        )

    @searched("sql", "hybrid")
    def hybrid(
        self,
        snap: Snapshot,
        vectors: Vectors,
        texts: Sequence[str | None],
        k: int | None,
        how: Fusion,
        window: int | None = None,
        filter_sql: str | None = None,
        column: str | None = None,
        columns: str | None = None,
        mode: str | None = DEFAULT_MODE,
        ef: int | None = None,
        recall_target: float | None = None,
    ) -> SearchResult:
        """Both searches, `window` candidates each under the same filter, fused."""
        return self._api.hybrid_search(
            snap,
            vectors,
            texts,  # type: ignore[arg-type]
            k,  # type: ignore[arg-type]
            fusion=how,
            window=window,
            filter=self.key_filter(snap, filter_sql),
            column=column,
            columns=columns,
            mode=mode or DEFAULT_MODE,
            ef=ef,
            recall_target=recall_target,
        )

    def key_filter(self, snap: Snapshot, filter_sql: str | None) -> KeyFilter | None:
        """A SQL filter as the engine takes it: checked, then evaluated by DuckDB when a
        search needs its keys (cached per snapshot by its text unless it is volatile)."""
        if not filter_sql:
            return None
        checked = checked_filter(filter_sql, snap.schema)
        return KeyFilter(
            lambda: self._keys(snap, checked),
            None if _VOLATILE.search(checked) else ("sql", checked),
        )

    def _keys(self, snap: Snapshot, filter_sql: str) -> pa.Array:
        """Keys of the rows the filter admits, evaluated by DuckDB over the namespace view
        (`filter_sql` as `checked_filter` returned it)."""
        key = quote(snap.schema.primary_key)
        cur = self._root.cursor()
        try:
            result = cur.sql(f"SELECT {key} FROM {rows_view(snap.schema)} WHERE ({filter_sql})")
            return result.to_arrow_table().column(0).combine_chunks()
        except duckdb.Error as exc:
            raise translate(exc) from None
        finally:
            cur.close()
