"""Namespace handles, the write path, background folding, compaction and GC."""

from .engine import Engine
from .namespace import Namespace, Snapshot, WriteConflict

__all__ = ["Engine", "Namespace", "Snapshot", "WriteConflict"]
