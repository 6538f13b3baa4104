"""``stagekit smoke --builder``: a project built on a real remote BuildKit, run on the engine.

The builder is the suite's own buildkitd (tests/engine/buildkit.py, registered with ``docker
buildx create --driver remote``). It cannot see the engine's images, so the project takes its
bases from the loopback registry through the org config's mapping; buildx loads the result into
the engine, where smoke runs it as always.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from stagekit.cli.main import main

from tests.docker.support import LoopbackRegistry, new_project, run_smoke
from tests.engine.buildkit import ensure_builder
from tests.engine.paths import EnginePaths

pytestmark = pytest.mark.docker


def test_smoke_builds_on_a_remote_buildkit_and_doctor_names_it(
    tmp_path: Path,
    loopback_registry: LoopbackRegistry,
    buildable: Callable[[str, str], str | None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if reason := buildable("go", "scratch"):
        pytest.skip(reason)
    name = ensure_builder(EnginePaths.from_env())
    config = tmp_path / "org.toml"
    config.write_text(f'[registry]\nprefix = "{loopback_registry.address}"\n')
    project = new_project(tmp_path / "remote-svc", "go", "scratch", config)
    code, report, stderr = run_smoke(project, "--stage", "release", "--builder", name)
    assert code == 0, stderr[-3000:]
    assert report["stages"][0]["ok"] and report["platform"]["emulated"] is False
    used = subprocess.run(
        ["docker", "buildx", "du", "--builder", name],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "Total:" in used and len(used.splitlines()) > 2, "the remote builder holds its cache"
    monkeypatch.setenv("BUILDX_BUILDER", name)
    capsys.readouterr()
    main(["doctor", "--json"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["builder"]["status"] == "ok", checks["builder"]
    assert name in checks["builder"]["found"] and "remote" in checks["builder"]["found"]
    assert os.environ["BUILDX_BUILDER"] == name
