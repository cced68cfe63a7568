"""The command's settings: storage settings and server options resolved from defaults, the
TOML file ($ELACSYM_CONFIG, --config or ./config.toml), the environment and flags; and
`elacsym config`, which prints each with its source."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from ..config import Settings
from ..config_sources import Resolved, config_file, resolve, unknown_env
from ..config_values import show_value
from ..server.options import ServerOptions, option_fields
from .flags import flag, given
from .table import print_table

SETTING_FIELDS = list(dataclasses.fields(Settings))
SERVER_FIELDS = option_fields()
DEFAULT_FILE = "config.toml"  # read from the working directory when present, as the original


@dataclass
class Loaded:
    settings: Settings
    server: ServerOptions
    resolved: Resolved
    file: str | None


def load(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> Loaded:
    """Every setting and server option; InvalidParameterValue or ValueError naming the bad
    key, variable or flag."""
    fields = [*SETTING_FIELDS, *SERVER_FIELDS]
    file = config_file(environ, getattr(args, "config", None), DEFAULT_FILE)
    found = resolve(fields, environ, given(args, fields), file=file, override_origin=flag)
    settings = Settings(**{f.name: found.values[f.name] for f in SETTING_FIELDS})
    try:
        server = ServerOptions(**{f.name: found.values[f.name] for f in SERVER_FIELDS})
    except ValueError as exc:
        raise ValueError(f"{exc}{_set_by(str(exc), found)}") from None
    return Loaded(settings, server, found, file)


def _set_by(message: str, found: Resolved) -> str:
    """Where the value a server option's error names came from, when not from its flag."""
    for f in SERVER_FIELDS:
        source = found.sources[f.name]
        if re.search(re.escape(flag(f.name)) + r"(?![\w-])", message) and source != flag(f.name):
            return f" (set by {source})"
    return ""


def print_config(loaded: Loaded, out: TextIO, environ: Mapping[str, str] = os.environ) -> None:
    """`elacsym config`: each setting, its effective value and where that came from."""
    out.write(f"config file: {loaded.file or '(none)'}\n")
    rows = [
        (f.name, show_value(f, loaded.resolved.values[f.name]), loaded.resolved.sources[f.name])
        for f in [*SETTING_FIELDS, *SERVER_FIELDS]
    ]
    print_table(["setting", "value", "source"], rows, out, footer=False, cut=False)
    names = [f.name for f in [*SETTING_FIELDS, *SERVER_FIELDS]]
    for var in unknown_env(environ, names):
        out.write(f"ignored: {var} is not a setting\n")
