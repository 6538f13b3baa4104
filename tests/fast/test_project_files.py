"""What every scaffold's bake file, Makefile and compose.yaml promise, the same in each language.

The lint gates (test_quality_gates.py) hold every combination to the contract; these tests read
the tools' own output for one project per language and assert the values users rely on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from stagekit.catalog import builtin
from stagekit.model import Language

from tests.helpers import NASTY, render_project

LANGUAGES = [language.value for language in Language]
BAKE_TARGETS = ("test", "debug", "release", "release-multi")
MAKE_TARGETS = ("build", "test", "debug", "release", "run", "smoke", "lint", "clean")


def buildx() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    version = subprocess.run(
        [docker, "buildx", "version"], capture_output=True, timeout=30, check=False
    )
    return docker if version.returncode == 0 else None


@pytest.mark.parametrize("lang", LANGUAGES)
def test_bake_file_parses_with_free_text_in_it(tmp_path: Path, lang: str) -> None:
    docker = buildx()
    if docker is None:
        pytest.skip("docker buildx is not installed")
    project = render_project(tmp_path, lang, description=NASTY)
    result = subprocess.run(
        [docker, "buildx", "bake", "--print", "-f", "docker-bake.hcl", *BAKE_TARGETS],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"},
    )
    assert result.returncode == 0, result.stderr
    targets = json.loads(result.stdout)["target"]
    assert targets["release"]["target"] == "release"
    assert targets["release"]["args"]["CREATED"] == "2023-11-14T22:13:20Z"
    assert targets["release-multi"]["platforms"] == ["linux/amd64", "linux/arm64"]
    assert "secret" not in targets["release"], "no CA secret unless CA_BUNDLE is set"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_makefile_targets_ca_secret_and_loopback_ports(tmp_path: Path, lang: str) -> None:
    project = render_project(tmp_path, lang)
    debug_port = builtin(Language(lang)).debug_port

    def dry_run(*args: str) -> str:
        result = subprocess.run(
            ["make", "-n", *args],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "docker buildx build" in dry_run(*MAKE_TARGETS)
    without = dry_run("test")
    assert "--secret" not in without and "src=" not in without, without
    with_ca = dry_run("test", "CA_BUNDLE=/tmp/ca.pem")
    assert "--secret id=ca_bundle,src=/tmp/ca.pem" in with_ca, with_ca
    debug = dry_run("debug")
    assert f"-p 127.0.0.1:{debug_port}:{debug_port}" in debug and "0.0.0.0" not in debug
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    app, dbg = compose["services"]["app"], compose["services"]["debug"]
    assert app["read_only"] is True and app["cap_drop"] == ["ALL"]
    assert app["build"]["target"] == "release" and dbg["profiles"] == ["debug"]
    assert all(port.startswith("127.0.0.1:") for port in app["ports"] + dbg["ports"])
