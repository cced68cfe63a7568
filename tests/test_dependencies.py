"""Every third-party package the code imports is a declared dependency of the install that
needs it: `pip install .` (README command 1) gets only [project] dependencies, so a runtime
import covered by the test extra alone passes every test and breaks `elacsym serve`.
Read from the source with ast, so lazy imports inside functions count too."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "elacsym_sql"

# Imports allowed to come from an optional extra, by the package directory or module using them.
EXTRA_USERS = {
    "plot": ("cli/bench_plot.py",),  # `elacsym bench` writes JSON only without matplotlib
    "test": ("testing/",),  # servers started by the tests and benchmarks
}


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"elacsym_sql", "__future__"}


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def _requirement_names(requirements: list[str]) -> set[str]:
    return {_normal(re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0]) for r in requirements}


def test_every_imported_package_is_declared_for_the_install_that_uses_it():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _requirement_names(project["dependencies"])
    extras = {k: _requirement_names(v) for k, v in project["optional-dependencies"].items()}
    distributions = packages_distributions()  # slow: read once
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        allowed = set(runtime)
        for extra, users in EXTRA_USERS.items():
            if relative.startswith(users):
                allowed |= extras[extra]
        for module in sorted(_imported_modules(path)):
            if not {_normal(d) for d in distributions.get(module, [module])} & allowed:
                missing.append(f"{relative}: {module}")
    assert not missing, f"imported but not declared for this install: {missing}"
