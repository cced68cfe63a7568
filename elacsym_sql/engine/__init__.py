"""Namespace handles, the write path, background folding, compaction and GC."""

from .engine import Engine
from .namespace import Namespace, Snapshot, WriteConflict
from .transaction import Transaction

__all__ = ["Engine", "Namespace", "Snapshot", "Transaction", "WriteConflict"]
