"""Postgres v3 wire-protocol server over a Database (docs/decisions/0010-wire-server.md)."""

from .auth import Users, Verifier
from .background import BackgroundServer
from .listener import Server, tls_context

__all__ = ["BackgroundServer", "Server", "Users", "Verifier", "tls_context"]
