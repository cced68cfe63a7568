"""Running one search for the SQL table functions and for the direct path alike: argument
checks, filters evaluated by DuckDB over the namespace's view, then the engine's search."""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa

from ..engine import Engine, Snapshot
from ..engine.fusion import TEXT_RANK, VECTOR_RANK, Fusion, default_window, fuse
from ..engine.search import DISTANCE, SCORE, SearchResult, text_search
from ..engine.vector_search import vector_column, vector_search
from ..errors import InvalidParameterValue, InvalidVector
from ..metrics import searched
from .errors import translate
from .filter_check import checked_filter
from .views import quote, rows_view

# A filter's rows are cached per snapshot unless it may change without a write (the clock,
# randomness): those are evaluated for every search.
_VOLATILE = re.compile(
    r"\b(now|today|random|setseed|uuid|gen_random_uuid|current_\w+|get_current_\w+|"
    r"transaction_timestamp|localtime\w*)\b",
    re.IGNORECASE,
)


# The columns each search function adds to the namespace's columns, with their SQL types.
SCORE_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "vector_search": [(DISTANCE, "FLOAT")],
    "text_search": [(SCORE, "FLOAT")],
    "hybrid_search": [(SCORE, "DOUBLE"), (VECTOR_RANK, "BIGINT"), (TEXT_RANK, "BIGINT")],
}


class SearchRunner:
    def __init__(self, root: duckdb.DuckDBPyConnection, engine: Engine) -> None:
        self._root = root
        self._engine = engine

    @searched("sql", "vector")
    def vector(
        self,
        snap: Snapshot,
        vectors: np.ndarray | Sequence[np.ndarray | None],
        k: int | None,
        column: str | None = None,
        filter_sql: str | None = None,
        ef: int | None = None,
        exact: bool | None = False,
    ) -> SearchResult:
        """The k nearest rows to each query vector (a matrix, or a list of vectors that may
        hold NULLs); `filter_sql` needs `snap` to be the snapshot the namespace's view shows."""
        k = _check_k(k)
        col = vector_column(snap, column)
        filter_sql = checked_filter(filter_sql, snap.schema) if filter_sql else None
        if not isinstance(vectors, np.ndarray):
            if any(v is None for v in vectors):
                raise InvalidParameterValue("the query vector is NULL")
            lengths = {len(v) for v in vectors}  # type: ignore[arg-type]
            if len(lengths) > 1:
                bad = next(n for n in lengths if n != col.dim)
                raise InvalidVector(
                    f'expected {col.dim} dimensions, not {bad}, for column "{col.name}"'
                )
            vectors = np.stack(vectors)  # type: ignore[arg-type]
        return vector_search(
            snap,
            self._engine.files,
            col,
            vectors.astype(np.float32, copy=False),
            k,
            ef=ef,
            exact=bool(exact),
            allowed_keys=(lambda: self.filter_keys(snap, filter_sql)) if filter_sql else None,
            filter_id=filter_sql if filter_sql and not _VOLATILE.search(filter_sql) else None,
        )

    @searched("sql", "text")
    def text(
        self,
        snap: Snapshot,
        texts: Sequence[str | None],
        k: int | None,
        columns: str | None = None,
        filter_sql: str | None = None,
        mode: str | None = "or",
    ) -> SearchResult:
        """The k best BM25 matches of each query text (same `filter_sql` rule as vector)."""
        k = _check_k(k)
        filter_sql = checked_filter(filter_sql, snap.schema) if filter_sql else None
        if any(t is None for t in texts):
            raise InvalidParameterValue("the query text is NULL")
        return text_search(
            snap,
            self._engine.files,
            self._engine.full_text.searcher(snap),
            list(texts),  # type: ignore[arg-type]
            k,
            mode=mode or "or",
            columns=columns,
            allowed_keys=self.filter_keys(snap, filter_sql) if filter_sql else None,
        )

    @searched("sql", "hybrid")
    def hybrid(
        self,
        snap: Snapshot,
        vectors: Sequence[np.ndarray | None],
        texts: Sequence[str | None],
        k: int | None,
        how: Fusion,
        window: int | None = None,
        filter_sql: str | None = None,
        column: str | None = None,
        columns: str | None = None,
        mode: str | None = "or",
        ef: int | None = None,
    ) -> SearchResult:
        """Both searches, `window` candidates each under the same filter, fused."""
        k = _check_k(k)
        window = default_window(k) if window is None else _check_k(window, "window")
        found_vectors = self.vector(snap, vectors, window, column, filter_sql, ef)
        found_texts = self.text(snap, texts, window, columns, filter_sql, mode)
        return fuse(found_vectors, found_texts, snap.schema.primary_key, k, how)

    def filter_keys(self, snap: Snapshot, filter_sql: str) -> pa.Array:
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


def _check_k(k: object, name: str = "k") -> int:
    if k is None or isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise InvalidParameterValue(f"{name} must be greater than zero")
    return k
