"""Every storage setting and server option is declared once, with help text, and is a flag
of `elacsym serve` (made from the declaration, not written by hand)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from elacsym_sql.cli import main
from elacsym_sql.cli.flags import env_name, flag
from elacsym_sql.config import Settings
from elacsym_sql.server.options import ServerOptions

FIELDS = [*dataclasses.fields(Settings), *dataclasses.fields(ServerOptions)]


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_declared_with_help(field: dataclasses.Field) -> None:
    assert len(field.metadata.get("help", "")) > 5, f"{field.name} has no help text"


def test_serve_help_has_a_flag_for_each(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = re.sub(r"\s+", " ", capsys.readouterr().out)
    for f in FIELDS:
        assert flag(f.name) in out, f.name
        assert f"${env_name(f.name)}" in out, f.name
        first_words = " ".join(f.metadata["help"].split()[:3])
        assert first_words in out, (f.name, first_words)
