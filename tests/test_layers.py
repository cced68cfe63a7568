"""The package's layers import downward only, read from the source with ast:
cli -> server/http -> sql -> engine (cluster beside it) -> index/segment/wal/catalog -> storage.

The modules at the package root (errors, schema, config, layout, ...) are shared by every
layer and import only each other. Outside elacsym_sql/engine nothing imports an engine
submodule: what the front doors need is exported by `elacsym_sql.engine` itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "elacsym_sql"

RANK = {
    "cli": 5,
    "testing": 5,  # helpers that start servers for tests and benchmarks
    "server": 4,
    "http": 4,
    "sql": 3,
    "engine": 2,
    "cluster": 2,
    "index": 1,
    "segment": 1,
    "wal": 1,
    "catalog": 1,
    "storage": 0,
}
# Beside each other: may import one another (through the engine's package only).
BESIDE = {frozenset({"engine", "cluster"})}
# The lowest layer each front door may reach: none reaches below the engine.
FLOOR = {"cli": 2, "server": 2, "http": 2, "sql": 2}
SHARED = "(shared)"


def _layer(parts: tuple[str, ...]) -> str:
    """The layer of module `elacsym_sql.<parts>`: its top package, or SHARED for a module
    at the package root (and for the package itself, imported for `__version__`)."""
    if not parts:
        return SHARED
    return parts[0] if (PACKAGE / parts[0]).is_dir() else SHARED


def _imports(path: Path) -> list[tuple[int, tuple[str, ...]]]:
    """(line, module path below elacsym_sql) of each elacsym_sql import in `path`; a name
    imported from a package counts as that package's submodule when it is one."""
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    package = parts if rel.name == "__init__" else parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name.split(".") for a in node.names]
            found += [(node.lineno, tuple(n[1:])) for n in names if n[0] == "elacsym_sql"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = (*base, *(node.module.split(".") if node.module else ()))
            elif node.module and node.module.split(".")[0] == "elacsym_sql":
                target = tuple(node.module.split(".")[1:])
            else:
                continue
            for alias in node.names:
                sub = PACKAGE.joinpath(*target, alias.name)
                is_module = sub.is_dir() or sub.with_suffix(".py").is_file()
                found.append((node.lineno, (*target, alias.name) if is_module else target))
    return found


def _violations(path: Path) -> list[str]:
    rel = path.relative_to(PACKAGE)
    if rel == Path("__init__.py"):
        return []  # the package's own face (Connection, Database) comes from every layer
    own = _layer(rel.with_suffix("").parts if rel.name != "__init__.py" else rel.parent.parts)
    out = []
    for line, target in _imports(path):
        to = _layer(target)
        where = f"elacsym_sql/{rel}:{line} imports elacsym_sql.{'.'.join(target)}"
        if to == "engine" and own != "engine" and len(target) > 1:
            out.append(f"{where}: an engine submodule (import it from elacsym_sql.engine)")
        if own == to or to == SHARED:
            continue
        if own == SHARED:
            out.append(f"{where}: a shared root module imports only shared modules")
        elif frozenset({own, to}) in BESIDE:
            continue
        elif RANK[to] >= RANK[own]:
            out.append(f"{where}: an import upward or sideways")
        elif RANK[to] < FLOOR.get(own, 0):
            out.append(f"{where}: below the engine")
    return out


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages <= set(RANK), f"no layer for {sorted(packages - set(RANK))}"


def test_layers_import_downward_only() -> None:
    problems = sorted({v for path in PACKAGE.rglob("*.py") for v in _violations(path)})
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "source", "complaint"),
    [
        ("sql/x.py", "from ..engine.validate import conform_rows\n", "an engine submodule"),
        ("sql/x.py", "from ..engine import validate\n", "an engine submodule"),
        ("sql/x.py", "from ..storage import ObjectStore\n", "below the engine"),
        ("server/x.py", "import elacsym_sql.wal.record\n", "below the engine"),
        ("engine/x.py", "from ..sql import Database\n", "upward or sideways"),
        ("storage/x.py", "from ..wal import WalRecord\n", "upward or sideways"),
        ("schema.py", "from .engine import Engine\n", "only shared modules"),
    ],
)
def test_the_check_catches(module: str, source: str, complaint: str, tmp_path: Path) -> None:
    """Each kind of violation is found (written into a scratch copy of the layout)."""
    global PACKAGE
    real = PACKAGE
    fake = tmp_path / "elacsym_sql"
    for name in RANK:
        (fake / name).mkdir(parents=True)
        (fake / name / "__init__.py").write_text("")
    for mod in ("validate.py", "engine.py"):
        (fake / "engine" / mod).write_text("")
    (fake / "wal" / "record.py").write_text("")
    (fake / "schema.py").write_text("")
    (fake / module).write_text(source)
    PACKAGE = fake
    try:
        found = _violations(fake / module)
    finally:
        PACKAGE = real
    assert any(complaint in v for v in found), found
