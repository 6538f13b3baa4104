"""The Go scaffold without Docker: the generated project passes gofmt, go vet and go test natively
on every base, hadolint is silent on every Dockerfile it can render, plain cookiecutter renders
exactly what stagekit renders, and free text lands in every file as data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from stagekit.model import Base, Language
from stagekit.model.catalog import builtin
from stagekit.model.names import default_module_path

from tests.helpers import (
    NASTY,
    NASTY_OWNER,
    REPO,
    cookiecutter_cli,
    dockerfile_word,
    native_caches,
    native_service_index,
    render_project,
)

SCAFFOLD = REPO / "scaffolds" / "go"
BASES = [base.value for base in Base]
VERSIONS = list(builtin(Language.GO).versions)
GO = shutil.which("go")
needs_go = pytest.mark.skipif(GO is None, reason="no Go toolchain on this machine")


def go_env() -> dict[str, str]:
    return {
        **os.environ,
        **native_caches(),
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-modcacherw -buildvcs=false",
    }


def run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=go_env(), check=False
    )


# --- native tools -------------------------------------------------------------------------


@needs_go
@pytest.mark.parametrize("base", BASES)
def test_gofmt_vet_and_test_pass_natively(tmp_path: Path, base: str) -> None:
    project = render_project(tmp_path, "go", base)
    unformatted = run(["gofmt", "-l", "."], project)
    assert unformatted.returncode == 0 and unformatted.stdout == "", (
        f"gofmt -l lists files or failed: {unformatted.stdout}{unformatted.stderr}"
    )
    vet = run(["go", "vet", "./..."], project)
    assert vet.returncode == 0, f"go vet failed on {base}:\n{vet.stdout}{vet.stderr}"
    test = run(["go", "test", "-count=1", "./..."], project)
    print(test.stdout)
    assert test.returncode == 0, f"go test failed on {base}:\n{test.stdout}{test.stderr}"
    packages = [line for line in test.stdout.splitlines() if line.startswith("ok ")]
    assert len(packages) == 4, f"expected 4 tested packages, got:\n{test.stdout}"


@needs_go
def test_a_failing_go_test_fails_go_test(tmp_path: Path) -> None:
    """The native check above can fail: a broken handler is caught by the generated tests."""
    project = render_project(tmp_path, "go")
    server = project / "internal" / "server" / "server.go"
    server.write_text(server.read_text().replace('"Hello, " + name + "!"', '"Hi, " + name'))
    test = run(["go", "test", "./internal/server/"], project)
    assert test.returncode != 0, f"go test passed on a broken handler:\n{test.stdout}"
    assert "Hello, Gopher!" in test.stdout


# --- the Dockerfile -----------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_dockerfile_keeps_the_contract(tmp_path: Path, base: str) -> None:
    import dockerfile

    project = render_project(tmp_path, "go", base, version="1.25")
    text = (project / "Dockerfile").read_text()
    assert not text.startswith("# syntax"), "a syntax line makes BuildKit pull a frontend"
    commands = dockerfile.parse_string(text)
    froms = [c for c in commands if c.cmd.upper() == "FROM"]
    stages = [c.value[2] for c in froms]
    named = [s for s in stages if s in ("build", "test", "debug", "release")]
    assert named == ["build", "test", "debug", "release"], stages
    assert stages[-1] == "release" and "scratch" not in stages
    scaffold = builtin(Language.GO)
    release_image = scaffold.images["release"][base]
    assert froms[-1].value[0] == release_image
    assert froms[0].flags == ("--platform=$BUILDPLATFORM",)
    assert froms[0].value[0] == "golang:${GO_VERSION}-trixie"
    assert "ARG GO_VERSION=1.25\n" in text

    release = commands[commands.index(froms[-1]) + 1 :]
    kinds = [c.cmd.upper() for c in release]
    assert "RUN" not in kinds, "the release stage must have no RUN"
    assert [c.value for c in release if c.cmd.upper() == "USER"] == [("65532:65532",)]
    copies = [c for c in release if c.cmd.upper() == "COPY"]
    assert copies and all("--link" in c.flags for c in copies)
    (entrypoint,) = [c for c in release if c.cmd.upper() == "ENTRYPOINT"]
    assert entrypoint.json and entrypoint.value == ("/usr/local/bin/demo-svc",)
    (health,) = [c for c in release if c.cmd.upper() == "HEALTHCHECK"]
    assert health.value == ("CMD", "/usr/local/bin/demo-svc", "healthcheck")
    assert {f.split("=")[0] for f in health.flags} == {
        "--interval",
        "--timeout",
        "--start-period",
        "--start-interval",
    }
    assert ("SIGTERM",) in [c.value for c in release if c.cmd.upper() == "STOPSIGNAL"]
    (label,) = [c for c in release if c.cmd.upper() == "LABEL"]
    keys = {label.value[i] for i in range(0, len(label.value), 2)}
    assert keys == {
        f"org.opencontainers.image.{k}"
        for k in ("title", "description", "source", "version", "revision", "created", "licenses")
    }
    build_runs = " ".join(" ".join(c.value) for c in commands if c.cmd.upper() == "RUN")
    for needle in (
        "CGO_ENABLED=0",
        "-trimpath",
        "-tags timetzdata",
        "-s -w",
        "go vet ./...",
        "go test ./...",
        "all=-N -l",
        "go mod download",
    ):
        assert needle in build_runs or needle in text, f"{needle!r} missing from the Dockerfile"
    # The build trusts the committed go.sum only: nothing may edit it (README, "go.sum").
    assert "go mod tidy" not in build_runs and "go get" not in build_runs
    assert ("go.mod", "go.sum*", "./") in [c.value for c in commands if c.cmd.upper() == "COPY"]
    debug = commands[commands.index(next(f for f in froms if f.value[2] == "debug")) + 1 :]
    dlv = next(c for c in debug if c.cmd.upper() == "ENTRYPOINT")
    assert "--listen=:40000" in dlv.value and "--headless" in dlv.value
    assert "--accept-multiclient" in dlv.value and "--api-version=2" in dlv.value


# --- plain cookiecutter = stagekit ---------------------------------------------------------


def test_default_module_path_agrees_with_stagekit(tmp_path: Path) -> None:
    plain = cookiecutter_cli(tmp_path, SCAFFOLD)
    defaults_json = json.loads((SCAFFOLD / "cookiecutter.json").read_text())
    expected = default_module_path(defaults_json["owner"], defaults_json["project_name"])
    assert expected == "github.com/platform-team/hello-service"
    assert (plain / "go.mod").read_text().splitlines()[0] == f"module {expected}"


# --- free text is data ---------------------------------------------------------------------


@needs_go
def test_free_text_lands_literally_and_every_file_parses(tmp_path: Path) -> None:
    project = render_project(tmp_path, "go", "scratch", description=NASTY, owner=NASTY_OWNER)

    # Go: the description is a string constant that the service returns as is.
    binary = tmp_path / "svc"
    built = run(["go", "build", "-o", str(binary), "./cmd/demo-svc"], project)
    assert built.returncode == 0, built.stderr
    vet = run(["go", "vet", "./..."], project)
    assert vet.returncode == 0, vet.stderr
    assert native_service_index(binary)["description"] == NASTY

    # Dockerfile: one line, literal.
    import dockerfile

    labels = [
        c for c in dockerfile.parse_file(str(project / "Dockerfile")) if c.cmd.upper() == "LABEL"
    ]
    values = dict(zip(labels[0].value[::2], labels[0].value[1::2], strict=True))
    assert dockerfile_word(values["org.opencontainers.image.description"]) == " ".join(
        NASTY.split()
    )

    # YAML, JSON and Markdown.
    for name in ("compose.yaml", ".github/workflows/ci.yml"):
        assert isinstance(yaml.safe_load((project / name).read_text()), dict), name
    recorded = json.loads((project / ".stagekit.json").read_text())
    assert recorded["answers"]["description"] == NASTY
    readme = (project / "README.md").read_text()
    assert NASTY in readme and " ".join(NASTY_OWNER.split()) in readme


@needs_go
def test_older_catalog_version_vets_and_tests(tmp_path: Path) -> None:
    """Go 1.25 projects (`go 1.25` in go.mod) are checked with the newer host toolchain."""
    project = render_project(tmp_path, "go", version="1.25")
    assert "\ngo 1.25\n" in (project / "go.mod").read_text()
    for command in (["go", "vet", "./..."], ["go", "test", "./..."]):
        result = run(command, project)
        assert result.returncode == 0, f"{command}:\n{result.stdout}{result.stderr}"
