"""Postgres v3 wire-protocol server over a Database (docs/decisions/0010-wire-server.md)."""

from .background import BackgroundServer
from .listener import Server

__all__ = ["BackgroundServer", "Server"]
