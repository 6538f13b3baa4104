"""An exported scaffold builds and smokes on the real engine (issue #20's "done when"): a platform
team that starts from `stagekit scaffolds export` gets a project whose stages build and whose
release runs hardened, exactly as the built-in's does. The file-by-file and lint comparisons are
in tests/fast/test_scaffold_export.py; this is the build."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.docker.support import SESSION_ARGS, run_smoke
from tests.helpers import run_cli

pytestmark = pytest.mark.docker

NO_CONFIG = ("--config", os.devnull)


def test_a_project_from_an_exported_go_scaffold_passes_smoke(
    tmp_path: Path, buildable: Callable[[str, str], str | None]
) -> None:
    if reason := buildable("go", "scratch"):
        pytest.skip(reason)
    exported = run_cli("scaffolds", "export", "go", str(tmp_path / "platform-go"), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert not [p for p in (tmp_path / "platform-go").rglob("*") if p.is_symlink()]
    created = run_cli(
        "new", str(tmp_path / "svc"), "--scaffold", str(tmp_path / "platform-go"),
        "--name", "exported-svc", "--owner", "Platform Team", "--base", "scratch",
        "--no-input", *NO_CONFIG, cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    code, report, stderr = run_smoke(tmp_path / "svc", *SESSION_ARGS, "--max-size", "50MB")
    assert code == 0, f"{report.get('checks')}\n{stderr[-2000:]}"
    assert [stage["stage"] for stage in report["stages"]] == ["test", "debug", "release"]
    assert report["ok"] is True
