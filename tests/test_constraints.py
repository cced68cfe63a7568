"""Installs are reproducible: every dependency is pinned in constraints.txt, and the
environment running the tests has exactly the pinned versions (the README's commands
install with `-c constraints.txt`)."""

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = version
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] + [
        dep for extra in project["optional-dependencies"].values() for dep in extra
    ]
    return [Requirement(dep) for dep in names]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pins = _pins()
    for req in _declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{req.name}=={pins[name]} is outside pyproject's {req.specifier}"
        )


def test_installed_versions_are_the_pinned_ones() -> None:
    wrong = {}
    for name, version in _pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # an optional extra not installed here (e.g. a platform-only wheel)
        if installed != version:
            wrong[name] = (installed, version)
    assert not wrong, f"installed != pinned (reinstall with -c constraints.txt): {wrong}"
