"""SQLAlchemy's dialect compliance suite, collected as it ships inside SQLAlchemy."""

from sqlalchemy.testing.suite import *  # noqa: F403
