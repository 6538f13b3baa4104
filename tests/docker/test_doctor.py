"""`stagekit doctor` against the suite's engine: all answers, and a project's images are there."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from stagekit.doctor import doctor
from stagekit.engine.client import Endpoint

pytestmark = pytest.mark.docker


def test_doctor_in_a_project_finds_the_engine_the_tools_and_its_images(
    endpoint: Endpoint,
    buildable: Callable[[str, str], str | None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stagekit.cli.main import main

    assert buildable("go", "scratch") is None  # provisions the stand-ins
    monkeypatch.chdir(tmp_path)
    assert main(["new", "svc", "--lang", "go", "--base", "scratch", "--no-input"]) == 0
    report = doctor(tmp_path / "svc", {**endpoint.cli_env()})
    by_name = {check.name: check for check in report.checks}
    for name in ("endpoint", "engine", "docker CLI", "buildx", "builder", "compose", "hadolint"):
        assert by_name[name].status == "ok", by_name[name]
    images = {name: check for name, check in by_name.items() if name.startswith("image ")}
    assert set(images) == {"image build", "image debug", "image release"}
    assert all(check.status == "ok" for check in images.values()), images
    assert "present in the engine" in images["image build"].found
    assert report.ok
