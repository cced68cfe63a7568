"""Namespace handles, the write path, background folding, compaction and GC; EngineApi is
what the front doors (SQL, HTTP, the command line) call, and everything they need from
the engine is exported here: nothing outside it imports its submodules."""

from ..index.analyzer import STOPWORD_LANGUAGES
from ..wal import WalRecord
from .api import EngineApi, Recall, check_k, query_matrix
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
    "Engine",
    "EngineApi",
    "Fusion",
    "KeyFilter",
    "Namespace",
    "Recall",
    "SearchFunction",
    "SearchResult",
    "SequenceSpec",
    "Snapshot",
    "Transaction",
    "WalRecord",
    "WriteConflict",
    "check_k",
    "query_matrix",
    "rowid_sequence",
]
