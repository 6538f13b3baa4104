"""A real remote BuildKit: ``stagekit smoke --builder``, and a project's ``release-multi`` pushed
from it as one two-platform index.

The builder is the suite's own buildkitd (tests/engine/buildkit.py, registered with ``docker
buildx create --driver remote``). It cannot see the engine's images, so the project takes its
bases from the loopback registry through the org config's mapping; buildx loads the result into
the engine, where smoke runs it as always.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from stagekit.cli.main import main
from stagekit.engine.client import system_ca_bundle

from tests.docker.support import (
    HARDENED,
    PORT,
    LoopbackRegistry,
    emulation_missing,
    host_port,
    new_project,
    run_smoke,
    running,
    smoke_env,
    wait_for_json,
)
from tests.engine.buildkit import ensure_builder
from tests.engine.indexes import OCI_INDEX
from tests.engine.paths import EnginePaths
from tests.engine.registry import fetch_manifest, platform_of

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"

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


def test_release_multi_is_one_two_platform_index_pushed_from_the_remote_builder(
    tmp_path: Path,
    loopback_registry: LoopbackRegistry,
    buildable: Callable[[str, str], str | None],
    docker_client: Any,
) -> None:
    """The project's own ``release-multi`` bake target, as a platform team's pipeline runs it:
    both platforms built on the remote BuildKit, pushed as one index to the registry; each
    platform's image then pulled by digest into the engine and run, answering /healthz."""
    if reason := emulation_missing():
        pytest.skip(reason)
    if reason := buildable("go", "scratch"):
        pytest.skip(reason)
    paths = EnginePaths.from_env()
    name = ensure_builder(paths)
    config = tmp_path / "org.toml"
    config.write_text(f'[registry]\nprefix = "{loopback_registry.address}"\n')
    project = new_project(tmp_path / "multi-svc", "go", "scratch", config)
    repository = f"{loopback_registry.address}/stagekit-test/multi-svc"
    tag = f"t{time.time_ns()}"
    env = {**smoke_env(), "IMAGE": repository, "VERSION": tag, "SOURCE_DATE_EPOCH": "1700000000"}
    if bundle := system_ca_bundle():
        env["CA_BUNDLE"] = str(bundle)
    baked = subprocess.run(
        ["docker", "buildx", "bake", "--builder", name, "--push", "release-multi"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert baked.returncode == 0, baked.stderr[-3000:]
    found = fetch_manifest(paths, "stagekit-test/multi-svc", tag)
    assert found is not None, "the registry has no release-multi image"
    digest, kind, raw = found
    assert kind in (OCI_INDEX, DOCKER_LIST), kind
    entries = json.loads(raw)["manifests"]
    # BuildKit adds attestation manifests (platform unknown/unknown): not images to run.
    images = {platform_of(e): e["digest"] for e in entries if platform_of(e) != "unknown/unknown"}
    assert set(images) == {"linux/amd64", "linux/arm64"}, images
    for platform, child in sorted(images.items()):
        reference = f"{repository}@{child}"
        image = docker_client.images.pull(reference, platform=platform)
        assert image.attrs["Architecture"] == platform.split("/")[1], platform
        try:
            with running(
                docker_client,
                reference,
                platform=platform,
                ports={f"{PORT}/tcp": ("127.0.0.1", None)},
                **HARDENED,
            ) as container:
                port = host_port(container, PORT)
                status, body, took = wait_for_json(f"http://127.0.0.1:{port}/healthz", 60)
                print(f"{platform} by digest {child[:19]}: /healthz {status} after {took:.1f} s")
                assert (status, body) == (200, {"status": "ok"})
        finally:
            docker_client.images.remove(image.id, force=True)
    assert digest.startswith("sha256:")
