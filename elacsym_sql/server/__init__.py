"""Postgres v3 wire-protocol server over a Database (docs/decisions/0010-wire-server.md)."""

from .auth import Users, Verifier
from .background import BackgroundServer
from .listener import Server, check_options, tls_context

__all__ = ["BackgroundServer", "Server", "Users", "Verifier", "check_options", "tls_context"]
