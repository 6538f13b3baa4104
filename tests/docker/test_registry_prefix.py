"""A project generated with a registry prefix builds on the engine from the prefixed images
(issue 10's "done when"), and fails when they are absent (so the prefix is really what is used).

Here the stand-ins are tagged under an unresolvable prefix with the docker SDK (removed afterwards),
so only the local tags can satisfy it; real pulls through the mapping, from the suite's loopback
registry, are tests/docker/test_pin.py's. Network build arguments from the org config
reach the Dockerfile's download steps once a scaffold declares them (``_stagekit.network_args``).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from stagekit.engine.client import (
    BuildOutcome,
    BuildRequest,
    Endpoint,
    buildx_build,
    system_ca_bundle,
)
from stagekit.model import Base, Language
from stagekit.model.answers import defaults, validate
from stagekit.model.catalog import builtin
from stagekit.new.create import new
from stagekit.new.render import generate
from stagekit.org.config import load_config
from stagekit.org.project_files import read_build_args

from tests.docker.support import build_args
from tests.helpers import host_versions

pytestmark = pytest.mark.docker

# `.test` is reserved (RFC 2606): the prefix can never resolve, so only local tags can satisfy it.
PREFIX = "mirror.stagekit.test/dockerhub"


def split_tag(reference: str) -> tuple[str, str]:
    slash, colon = reference.rfind("/"), reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon + 1 :]
    return reference, "latest"


@pytest.fixture
def mirror_tags(docker_client: Any) -> Iterator[Callable[[dict[str, str]], list[str]]]:
    """``tag({upstream: mirrored})`` tags local images under mirrored names; removed afterwards."""
    created: list[str] = []

    def tag(pairs: dict[str, str]) -> list[str]:
        for upstream, mirrored in pairs.items():
            image = docker_client.images.get(upstream)
            repository, tag_name = split_tag(mirrored)
            assert image.tag(repository, tag_name), f"could not tag {upstream} as {mirrored}"
            created.append(mirrored)
        return created

    yield tag
    for reference in created:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(reference, noprune=True)  # the tag only
    leftover = [ref for ref in created if _exists(docker_client, ref)]
    assert not leftover, f"mirror tags left behind: {leftover}"


def _exists(client: Any, reference: str) -> bool:
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def render_go(tmp_path: Path, base: str, registry: dict[str, Any]) -> Path:
    scaffold = builtin(Language.GO)
    version = host_versions()[Language.GO]
    given = {"project_name": f"mirrored-{base}", "base": base, "owner": "Org", "version": version}
    answers = validate(scaffold, {**defaults(scaffold, given), **given})
    return generate(scaffold, answers, tmp_path / f"mirrored-{base}", registry=registry).path


@pytest.mark.parametrize("base", [base.value for base in Base])
def test_a_go_project_with_a_registry_prefix_builds_from_the_prefixed_images(
    tmp_path: Path,
    base: str,
    *,
    buildable: Callable[[str, str], str | None],
    build: Callable[..., BuildOutcome],
    docker_client: Any,
    mirror_tags: Callable[[dict[str, str]], list[str]],
) -> None:
    reason = buildable("go", base)
    if reason is not None:
        pytest.skip(reason)
    registry = {"prefix": PREFIX, "map": {}}
    project = render_go(tmp_path, base, registry)
    scaffold = builtin(Language.GO)
    version = host_versions()[Language.GO]
    assert version is not None
    upstream = scaffold.images_for(Base(base), version)
    mirrored = scaffold.images_for(Base(base), version, registry)
    record = json.loads((project / ".stagekit.json").read_text())
    assert record["catalog"]["images"] == mirrored
    tag = f"stagekit-test/registry-prefix-{base}:release"

    # Without the prefixed names the build must fail: nothing falls back to the upstream names.
    missing = build(project, "release", tag)
    assert not missing.ok, "built although no image exists under the prefix"
    assert PREFIX in missing.log, missing.tail()

    pairs = {upstream[role]: mirrored[role] for role in upstream if upstream[role] != "scratch"}
    mirror_tags(pairs)
    try:
        outcome = build(project, "release", tag)
        print(f"go/{base} with prefix: release built in {outcome.seconds:.1f} s")
        assert outcome.ok, f"release build failed ({outcome.seconds:.1f} s):\n{outcome.tail(40)}"
        for role in ("build", "release"):
            if mirrored[role] != "scratch":
                assert f"FROM {mirrored[role]}" in outcome.log, f"{role} image not the mirrored one"
        assert f"FROM {upstream['build']}" not in outcome.log
        image = docker_client.images.get(tag)
        assert image.attrs["Config"]["User"] == "65532:65532"
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(tag, noprune=True)


def test_network_build_args_reach_the_go_download_steps(
    tmp_path: Path,
    buildable: Callable[[str, str], str | None],
    docker_host: str,
) -> None:
    """With GOPROXY pointed at a closed port, a step that downloads modules must fail there."""
    scaffold = builtin(Language.GO)
    assert "GOPROXY" in scaffold.network_args, "the Go scaffold must let an org set GOPROXY"
    reason = buildable("go", "distroless")
    if reason is not None:
        pytest.skip(reason)
    (tmp_path / "stagekit.toml").write_text(
        '[network]\ngoproxy = "http://127.0.0.1:9"\ngosumdb = "off"\n'
    )
    config = load_config(tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    version = host_versions()[Language.GO]
    given = {"project_name": "proxied", "owner": "Org", "version": version}
    answers = validate(scaffold, {**defaults(scaffold, given), **given})
    project = new(answers, scaffold, tmp_path / "proxied", config=config).path
    args = read_build_args(project)
    assert args["GOPROXY"] == "http://127.0.0.1:9"
    # delve is installed with `go install pkg@version`: a download through GOPROXY.
    started = time.monotonic()
    outcome = buildx_build(
        Endpoint(docker_host, "test suite"),
        BuildRequest(
            context=project,
            target="debug",
            tag="stagekit-test/registry-proxy:debug",
            build_args={**build_args(), **args},
            ca_bundle=system_ca_bundle(),
        ),
        timeout=600,
    )
    elapsed = time.monotonic() - started
    print(f"debug build with an unreachable GOPROXY: ok={outcome.ok} in {elapsed:.1f} s")
    assert not outcome.ok, "the debug stage built although GOPROXY points at a closed port"
    assert "127.0.0.1:9" in outcome.log, outcome.tail(30)
