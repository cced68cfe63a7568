"""Namespace handles, the write path, background folding, compaction and GC; EngineApi is
what the front doors (SQL, HTTP, the command line) call, and everything they need from
the engine is exported here: nothing outside it imports its submodules."""

from ..catalog import EnumType, SchemaStore, TypeStore, ViewStore
from ..index.analyzer import STOPWORD_LANGUAGES
from ..index.analyzer import check_options as check_full_text_options
from ..wal import WalRecord
from ..wal.record import Kind as WriteKind
from .api import EngineApi, Recall, check_k, query_matrix
from .dirty_marks import DirtyMarks, Mark, dirty_lifetime
from .engine import Engine
from .filters import KeyFilter
from .fusion import DEFAULT_ALPHA, DEFAULT_RRF_K, Fusion
from .namespace import Namespace, Snapshot, WriteConflict
from .search import DISTANCE, SCORE, SearchResult
from .search_spec import (
    DEFAULT_FUSION,
    DEFAULT_MODE,
    DEFAULT_WEIGHTS,
    MAX_K,
    SEARCH_FUNCTIONS,
    SearchFunction,
)
from .sequences import SequenceSpec, rowid_sequence
from .transaction import Transaction
from .validate import composite_keys, conform_keys, conform_rows, failing_row

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_FUSION",
    "DEFAULT_MODE",
    "DEFAULT_RRF_K",
    "DEFAULT_WEIGHTS",
    "DISTANCE",
    "MAX_K",
    "SCORE",
    "SEARCH_FUNCTIONS",
    "STOPWORD_LANGUAGES",
    "DirtyMarks",
    "Engine",
    "EngineApi",
    "EnumType",
    "Fusion",
    "KeyFilter",
    "Mark",
    "Namespace",
    "Recall",
    "SchemaStore",
    "SearchFunction",
    "SearchResult",
    "SequenceSpec",
    "Snapshot",
    "Transaction",
    "TypeStore",
    "ViewStore",
    "WalRecord",
    "WriteConflict",
    "WriteKind",
    "check_full_text_options",
    "check_k",
    "composite_keys",
    "conform_keys",
    "conform_rows",
    "dirty_lifetime",
    "failing_row",
    "query_matrix",
    "rowid_sequence",
]
