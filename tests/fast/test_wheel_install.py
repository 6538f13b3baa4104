"""stagekit installed the way the README says (`pip install <checkout>`, not editable) renders
projects that pass its own lint: what users install is what the tests test.

pip byte-compiles every .py file it installs, the scaffolds' included, so an installed stagekit
holds `__pycache__` folders inside its templates; an editable install never does. One virtualenv
per test session; its cost (about half a minute with pip's cache warm) is the price of the check.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ALL_COMBINATIONS, REPO


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh virtualenv with the checkout installed from a built wheel."""
    venv = tmp_path_factory.mktemp("wheel-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(REPO)],
        check=True,
        timeout=600,
        env=env,
        cwd=venv,
    )
    return venv / "bin"


def test_the_installed_package_holds_bytecode_in_its_scaffolds(installed: Path) -> None:
    # The precondition that makes the next test able to fail.
    site = next((installed.parent / "lib").glob("python3.*/site-packages"))
    assert list((site / "stagekit" / "scaffolds").rglob("__pycache__")), "pip compiled nothing"
    assert not (site / "stagekit").is_symlink()


@pytest.mark.parametrize(("lang", "base"), ALL_COMBINATIONS)
def test_new_then_lint_from_the_installed_wheel(
    installed: Path, tmp_path: Path, lang: str, base: str
) -> None:
    env = {**os.environ, "PATH": f"{installed}{os.pathsep}{os.environ['PATH']}"}
    new = subprocess.run(
        [str(installed / "stagekit"), "new", "svc", "--lang", lang, "--base", base, "--no-input"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert new.returncode == 0, new.stderr
    project = tmp_path / "svc"
    foreign = [p for p in project.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]
    assert foreign == []
    lint = subprocess.run(
        [str(installed / "stagekit"), "lint", "svc"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "lint passed" in lint.stdout
