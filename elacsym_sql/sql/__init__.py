"""DuckDB wiring: namespace views, the statement router, the DB-API connection."""

from .connection import Connection, Cursor
from .database import Database
from .results import Outcome

__all__ = ["Connection", "Cursor", "Database", "Outcome"]
