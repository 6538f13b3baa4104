"""A generated project's own front door on the real engine: `make smoke` builds the release image
through docker-bake.hcl (the project's one build definition, with the org's override) and runs
`make smoke-image`, the smoke test the project's CI workflow runs too.

The stagekit smoke tests (test_smoke.py) judge the images; this judges the project's Makefile,
bake file and smoke recipe, which no other test runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
import yaml
from stagekit.engine.client import created_label, system_ca_bundle

from tests.helpers import git_project, run_cli

pytestmark = pytest.mark.docker

IMAGE = "stagekit-test/make-go"


def _git(project: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=project, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def _committed_project(tmp_path: Path, config: str) -> Path:
    """A go/scratch project named make-go, made with the org config ``config`` and committed
    (REVISION and SOURCE_DATE_EPOCH come from git)."""
    created = run_cli(
        "new", str(tmp_path / "svc"), "--lang", "go", "--base", "scratch", "--name", "make-go",
        "--no-input", "--config", config, cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return git_project(tmp_path / "svc")


def _labels(image: str, env: Mapping[str, str]) -> dict[str, str]:
    inspected = subprocess.run(
        ["docker", "image", "inspect", image, "--format", "{{json .Config.Labels}}"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert inspected.returncode == 0, inspected.stderr
    labels: dict[str, str] = json.loads(inspected.stdout)
    return labels


def _remove_images(env: Mapping[str, str], *images: str) -> None:
    subprocess.run(
        ["docker", "image", "rm", "-f", *images],
        env=env, capture_output=True, timeout=60, check=False,
    )  # fmt: skip


def test_make_smoke_builds_through_bake_and_runs_the_ci_smoke(
    tmp_path: Path, docker_host: str, buildable: Callable[[str, str], str | None]
) -> None:
    if reason := buildable("go", "scratch"):
        pytest.skip(reason)
    config = tmp_path / "org.toml"
    config.write_text('[network]\ngoproxy = "https://proxy.golang.org"\n', encoding="utf-8")
    project = _committed_project(tmp_path, str(config))
    assert (project / "docker-bake.override.hcl").is_file()
    revision = _git(project, "rev-parse", "--short", "HEAD")
    epoch = _git(project, "log", "-1", "--format=%ct")

    env = {**os.environ, "DOCKER_HOST": docker_host}
    env.pop("CA_BUNDLE", None)
    make = ["make", "--no-print-directory", f"IMAGE={IMAGE}", "VERSION=3.1.4"]
    ca = system_ca_bundle()
    if ca is not None:
        make.append(f"CA_BUNDLE={ca}")
    try:
        printed = subprocess.run(
            [*make, "-s", "release", "BAKE_FLAGS=--print"],
            cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert printed.returncode == 0, printed.stderr
        release = json.loads(printed.stdout)["target"]["release"]
        assert release["args"]["GOPROXY"] == "https://proxy.golang.org"  # the override's
        assert release["args"]["REVISION"] == revision  # the Makefile's, from git

        smoke = subprocess.run(
            [*make, "smoke"],
            cwd=project, env=env, capture_output=True, text=True, timeout=1200, check=False,
        )  # fmt: skip
        output = smoke.stdout + smoke.stderr
        assert smoke.returncode == 0, output[-3000:]
        assert "health: healthy" in smoke.stdout
        assert '{"status":"ok"}' in smoke.stdout  # GET /healthz through the published port
        assert "exit code after SIGTERM: 0" in smoke.stdout

        labels = _labels(f"{IMAGE}:3.1.4", env)
        assert labels["org.opencontainers.image.version"] == "3.1.4"
        assert labels["org.opencontainers.image.revision"] == revision
        # bake's timeadd of the Makefile's SOURCE_DATE_EPOCH
        assert labels["org.opencontainers.image.created"] == created_label(int(epoch))
    finally:
        _remove_images(env, f"{IMAGE}:3.1.4", f"{IMAGE}:latest")


#: What GitHub fills in for the workflow's expressions, here.
GITHUB = {
    "github.server_url": "https://github.com",
    "github.repository": "example-org/make-go",
}


def _expand(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: values[m.group(1)], text)


def test_the_ci_workflows_image_job_runs_here_as_written(
    tmp_path: Path, docker_host: str, buildable: Callable[[str, str], str | None]
) -> None:
    """The image job's steps, read from the generated workflow and run in order: its `run:`
    steps through bash, its docker/bake-action steps as the bake command the action runs (files,
    targets, load, sbom, provenance, set). Not run: checkout (the project is the checkout),
    setup-buildx (the engine's builder serves), and the `type=gha` cache settings, which need
    GitHub's cache service; the publish job pushes to ghcr.io."""
    if reason := buildable("go", "scratch"):
        pytest.skip(reason)
    project = _committed_project(tmp_path, os.devnull)
    values = {**GITHUB, "github.sha": _git(project, "rev-parse", "HEAD")}
    epoch = _git(project, "log", "-1", "--format=%ct")
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    github_env = tmp_path / "github.env"
    github_env.write_text("", encoding="utf-8")
    env = {**os.environ, "DOCKER_HOST": docker_host, "GITHUB_ENV": str(github_env)}
    env.pop("CA_BUNDLE", None)
    ran: list[str] = []
    try:
        job = workflow["jobs"]["image"]
        for step in job["steps"]:
            uses = str(step.get("uses", ""))
            if uses.startswith(("actions/checkout@", "docker/setup-buildx-action@")):
                continue
            # The job's env, what earlier steps wrote to $GITHUB_ENV, then the step's own.
            step_env = {
                **env,
                **{k: _expand(str(v), values) for k, v in job.get("env", {}).items()},
            }
            for line in github_env.read_text(encoding="utf-8").splitlines():
                name, _, value = line.partition("=")
                step_env[name] = value
            step_env.update({k: _expand(str(v), values) for k, v in step.get("env", {}).items()})
            if uses.startswith("docker/bake-action@"):
                argv = _bake_command(step["with"])
            else:
                assert not uses, f"a step this test does not know how to run: {uses}"
                argv = ["bash", "-eo", "pipefail", "-c", _expand(step["run"], values)]
            done = subprocess.run(
                argv, cwd=project, env=step_env, capture_output=True, text=True,
                timeout=1200, check=False,
            )  # fmt: skip
            assert done.returncode == 0, f"{step.get('name', uses)}:\n{done.stderr[-3000:]}"
            ran.append(str(step.get("name", uses)))
            if "smoke-image" in str(step.get("run", "")):
                assert "exit code after SIGTERM: 0" in done.stdout, done.stdout
        assert len(ran) == 4, ran  # source date, test stage, release image, smoke
        labels = _labels("make-go:0.1.0-ci", env)
        assert labels["org.opencontainers.image.revision"] == values["github.sha"]
        assert labels["org.opencontainers.image.source"] == "https://github.com/example-org/make-go"
        assert labels["org.opencontainers.image.created"] == created_label(int(epoch))
    finally:
        _remove_images(env, "make-go:0.1.0-ci", "make-go:latest")


def _bake_command(options: dict[str, object]) -> list[str]:
    """The `docker buildx bake` command docker/bake-action runs for these inputs, less the
    GitHub Actions cache (no cache service here)."""

    def items(key: str) -> list[str]:
        return [s for s in re.split(r"[,\n]", str(options.get(key, ""))) if s.strip()]

    argv = ["docker", "buildx", "bake"]
    for name in items("files"):
        argv += ["--file", name.strip()]
    if str(options.get("load", "")).lower() == "true":
        argv.append("--load")
    for flag in ("sbom", "provenance"):
        if flag in options:
            argv.append(f"--{flag}={str(options[flag]).lower()}")
    for setting in str(options.get("set", "")).splitlines():
        if setting.strip() and "type=gha" not in setting:
            argv += ["--set", setting.strip()]
    return argv + [t.strip() for t in items("targets")]
