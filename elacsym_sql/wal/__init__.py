"""Write-ahead log: one immutable object per acknowledged write statement."""

from .log import WalLog, wal_key
from .record import WalRecord, decode_record, encode_record

__all__ = ["WalLog", "WalRecord", "decode_record", "encode_record", "wal_key"]
