"""Loads SQLAlchemy's pytest plugin for the compliance suite.

One deviation from the stock PostgreSQL provisioning: its engine set-up step runs
`CREATE EXTENSION IF NOT EXISTS citext` and `... hstore`, and aborts the whole run when a
server lacks them. No test in sqlalchemy/testing/suite uses either extension (they serve
SQLAlchemy's own PostgreSQL-dialect tests), so here a refused extension is reported and
skipped instead; on PostgreSQL 15 both are created as before.
"""

from __future__ import annotations

import sys

import pytest

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy import exc, text  # noqa: E402
from sqlalchemy.dialects.postgresql import provision as pg_provision  # noqa: E402
from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402, F403
from sqlalchemy.testing.provision import post_configure_engine  # noqa: E402

pytest_plugins = ["suite_outcomes"]  # records each outcome for bench/sqlalchemy_suite.py


@post_configure_engine.for_db("postgresql")
def _create_extensions_when_available(url, engine, follower_ident):
    with engine.connect() as conn:
        for extension, min_version in pg_provision._extensions:
            if conn.dialect.server_version_info < min_version:
                continue
            try:
                conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {extension}"))
                conn.commit()
            except exc.DBAPIError as err:
                conn.rollback()
                print(f"extension {extension} not created: {err.orig}", file=sys.stderr)
