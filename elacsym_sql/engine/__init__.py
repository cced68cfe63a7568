"""Namespace handles, the write path, background folding, compaction and GC."""

from .api import EngineApi
from .engine import Engine
from .namespace import Namespace, Snapshot, WriteConflict
from .transaction import Transaction

__all__ = ["Engine", "EngineApi", "Namespace", "Snapshot", "Transaction", "WriteConflict"]
