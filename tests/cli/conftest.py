"""Shared fixtures of the command-line tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No ELACSYM_* from the caller; a scratch disk cache; no background indexer."""
    for name in list(os.environ):
        if name.startswith("ELACSYM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ELACSYM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ELACSYM_INDEXER", "false")
    return monkeypatch
