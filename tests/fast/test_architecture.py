"""The package layout docs/architecture.md draws holds in the code: who may import whom.

Every ``import`` in ``generator/stagekit`` (function-level ones included) is read with ``ast``.
A package may import its own modules and packages of a lower layer, never one of its own layer or
above, so there are no cycles between packages and no upward edges. Test modules do not import
each other: what they share lives in ``tests/helpers.py`` and ``tests/docker/support.py``.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.helpers import REPO

PACKAGE = REPO / "generator" / "stagekit"

#: The layer of each top-level part of ``stagekit``; docs/architecture.md draws the same picture.
LAYERS: dict[str, int] = {
    "__init__": 0,
    "errors": 0,
    "contract": 0,
    "filters": 0,  # Jinja filters; the scaffolds' local_extensions.py link to this file
    "tools": 0,
    "model": 1,
    "org": 2,
    "engine": 2,
    "new": 3,
    "lint": 3,
    "sbom": 3,
    "smoke": 4,
    "pin": 4,
    "doctor": 4,
    "update": 5,
    "cli": 6,
    "__main__": 7,
}
PUBLIC = ("org", "engine", "new", "lint", "sbom", "smoke", "pin", "update", "cli")


def _part(module: str) -> str:
    """``stagekit.lint.run`` -> ``lint``; ``stagekit`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("stagekit")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "stagekit":  # from stagekit import X: X is a part or __version__
                found += [(node.lineno, f"stagekit.{a.name}") for a in node.names]
            elif node.module.startswith("stagekit."):
                found.append((node.lineno, node.module))
    return found


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_part_has_a_layer() -> None:
    parts = {
        _part(".".join(("stagekit", *p.relative_to(PACKAGE).with_suffix("").parts)))
        for p in _modules()
    }
    assert parts == set(LAYERS), "give each new package a layer here and in docs/architecture.md"


def test_no_import_goes_sideways_or_up() -> None:
    wrong: list[str] = []
    for path in _modules():
        here = _part(".".join(("stagekit", *path.relative_to(PACKAGE).with_suffix("").parts)))
        for line, target in _imports(path):
            there = _part(target)
            if there in ("__version__", here):
                continue
            if LAYERS[there] >= LAYERS[here]:
                rel = path.relative_to(REPO)
                wrong.append(f"{rel}:{line} ({here}, layer {LAYERS[here]}) imports {target}")
    assert wrong == []


@pytest.mark.parametrize("package", PUBLIC)
def test_public_api_is_declared_and_importable(package: str) -> None:
    module = importlib.import_module(f"stagekit.{package}")
    names = getattr(module, "__all__", None)
    assert names, f"stagekit.{package} declares no __all__"
    for name in names:
        assert getattr(module, name, None) is not None, f"stagekit.{package}.{name}"


def test_test_modules_do_not_import_each_other() -> None:
    wrong = []
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any(n.split(".")[-1].startswith("test_") and n.startswith("tests.") for n in names):
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert wrong == []


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The check is not vacuous: a model module importing the CLI is an upward edge."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f() -> None:\n    from stagekit.cli.main import main\n", encoding="utf-8")
    [(line, target)] = _imports(bad)
    assert (line, target) == (2, "stagekit.cli.main")
    assert LAYERS[_part(target)] >= LAYERS["model"]
