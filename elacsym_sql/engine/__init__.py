"""Namespace handles, the write path, background folding, compaction and GC."""

from .api import EngineApi, check_k
from .engine import Engine
from .fusion import DEFAULT_ALPHA, DEFAULT_RRF_K, Fusion
from .namespace import Namespace, Snapshot, WriteConflict
from .search import SearchResult
from .search_spec import MAX_K
from .transaction import Transaction

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_RRF_K",
    "MAX_K",
    "Engine",
    "EngineApi",
    "Fusion",
    "Namespace",
    "SearchResult",
    "Snapshot",
    "Transaction",
    "WriteConflict",
    "check_k",
]
