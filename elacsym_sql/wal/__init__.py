"""Write-ahead log: one immutable object per acknowledged write."""

from .log import WalLog, wal_key
from .record import TxnRef, WalEntry, WalRecord, decode_entry, encode_entry

__all__ = ["TxnRef", "WalEntry", "WalLog", "WalRecord", "decode_entry", "encode_entry", "wal_key"]
