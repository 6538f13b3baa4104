"""What every scaffold promises the same way in each language: plain cookiecutter renders what
stagekit renders, and the bake file, Makefile and compose.yaml hold their contract.

The lint gates (test_quality_gates.py) hold every combination to the contract; these tests read
the tools' own output for one project per language and assert the values users rely on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from stagekit.model import Base, Language
from stagekit.model.answers import defaults, validate
from stagekit.model.catalog import builtin
from stagekit.new.render import generate
from stagekit.org.project_files import bake_override_file, bake_targets

from tests.helpers import NASTY, cookiecutter_cli, files_of, hadolint_binary, render_project

LANGUAGES = [language.value for language in Language]
#: Every language, base and catalog version, supported or not (plain cookiecutter renders all).
EVERY_VERSION = [
    pytest.param(language.value, base.value, version, id=f"{language}-{base}-{version}")
    for language in Language
    for base in Base
    for version in builtin(language).versions
]
BAKE_TARGETS = ("test", "debug", "release", "release-multi")
MAKE_TARGETS = ("build", "test", "debug", "release", "run", "smoke", "lint", "clean")


@pytest.mark.parametrize("base", [base.value for base in Base])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_plain_cookiecutter_renders_what_stagekit_renders(
    tmp_path: Path, lang: str, base: str
) -> None:
    scaffold = builtin(Language(lang))
    plain = cookiecutter_cli(tmp_path, scaffold.path, f"base={base}")
    given = {"base": base}
    answers = validate(scaffold, {**defaults(scaffold, given), **given})
    (tmp_path / "stagekit").mkdir()
    ours = generate(scaffold, answers, tmp_path / "stagekit" / answers.project_name).path
    plain_files, our_files = files_of(plain), files_of(ours)
    assert sorted(plain_files) == sorted(our_files)
    different = [name for name in plain_files if plain_files[name] != our_files[name]]
    assert different == [], f"cookiecutter and stagekit disagree on {different}"


@pytest.mark.parametrize(("lang", "base", "version"), EVERY_VERSION)
def test_hadolint_reports_nothing(tmp_path: Path, lang: str, base: str, version: str) -> None:
    scaffold = builtin(Language(lang))
    if scaffold.supports(Base(base), version):
        project = render_project(tmp_path, lang, base, version=version)
    else:
        # stagekit refuses the combination; lint what plain cookiecutter would still give.
        project = cookiecutter_cli(tmp_path, scaffold.path, f"base={base}", f"version={version}")
    result = subprocess.run(
        [hadolint_binary(), "--no-color", "Dockerfile"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip() == "", (
        f"hadolint on {lang}/{base}/{version}:\n{result.stdout}{result.stderr}"
    )


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
def test_makefile_builds_through_bake_with_ca_secret_and_loopback_ports(
    tmp_path: Path, lang: str
) -> None:
    """The Makefile is a front to docker-bake.hcl: every build is a bake command, and the
    build arguments and the CA secret bake resolves come from the Makefile's variables."""
    docker = buildx()
    if docker is None:
        pytest.skip("docker buildx is not installed")
    project = render_project(tmp_path, lang)
    debug_port = builtin(Language(lang)).debug_port

    def make(*args: str) -> str:
        result = subprocess.run(
            ["make", "--no-print-directory", *args],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={k: v for k, v in os.environ.items() if k != "CA_BUNDLE"},
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    dry = make("-n", *MAKE_TARGETS)
    assert "docker buildx bake -f docker-bake.hcl" in dry and "docker buildx build" not in dry
    assert "--build-arg" not in dry, "build arguments are bake's, not the Makefile's"

    def resolved(*args: str) -> dict[str, Any]:
        targets: dict[str, Any] = json.loads(make("-s", *args, "BAKE_FLAGS=--print"))["target"]
        return targets

    plain = resolved("test", "VERSION=9.9.9", "SOURCE_DATE_EPOCH=1700000000")["test"]
    assert plain["args"]["VERSION"] == "9.9.9"
    assert plain["args"]["CREATED"] == "2023-11-14T22:13:20Z"
    assert "secret" not in plain, "no CA secret unless CA_BUNDLE is set"
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    with_ca = resolved("test", f"CA_BUNDLE={ca}")["test"]
    assert with_ca["secret"] == [f"id=ca_bundle,src={ca}"]
    release = resolved("release", "IMAGE=example/app", "VERSION=2.0.0")["release"]
    assert release["tags"] == ["example/app:2.0.0", "example/app:latest"]
    debug = make("-n", "debug")
    assert f"-p 127.0.0.1:{debug_port}:{debug_port}" in debug and "0.0.0.0" not in debug
    # An org's network settings, as stagekit new writes them, reach every build make runs.
    targets = bake_targets((project / "docker-bake.hcl").read_text())
    override = bake_override_file(targets, {"HTTPS_PROXY": "http://proxy.example:3128"}, None)
    (project / "docker-bake.override.hcl").write_text(override)
    for stage in ("build", "test", "release"):  # `make debug` goes on to run the image
        args = resolved(stage)[stage]["args"]
        assert args["HTTPS_PROXY"] == "http://proxy.example:3128" and "VERSION" in args
    # ... and so does the org's CA bundle, unless `make CA_BUNDLE=...` names another.
    (project / "docker-bake.override.hcl").write_text(bake_override_file(targets, {}, ca))
    assert resolved("test")["test"]["secret"] == [f"id=ca_bundle,src={ca}"]
    other = tmp_path / "other.pem"
    other.write_text("")
    assert resolved("test", f"CA_BUNDLE={other}")["test"]["secret"] == [f"id=ca_bundle,src={other}"]
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    app, dbg = compose["services"]["app"], compose["services"]["debug"]
    assert app["read_only"] is True and app["cap_drop"] == ["ALL"]
    assert app["build"]["target"] == "release" and dbg["profiles"] == ["debug"]
    assert all(port.startswith("127.0.0.1:") for port in app["ports"] + dbg["ports"])
