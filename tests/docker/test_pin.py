"""Pulls through the org config's registry mapping, and ``stagekit pin``, on a real registry.

The registry is the suite's own (CNCF distribution on 127.0.0.1, tests/engine/registry.py) holding
the stand-ins under their upstream names. Before a build the mapped names are removed from the
engine's image store, so BuildKit must pull them; the registry's access log shows it did.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from stagekit.cli.main import main
from stagekit.engine.client import BuildOutcome
from stagekit.model import Language
from stagekit.model.catalog import builtin
from stagekit.pin import base_images

from tests.docker.support import SESSION_ARGS, LoopbackRegistry, new_project, run_smoke
from tests.engine.daemon import clean, ensure_daemon
from tests.engine.paths import EnginePaths
from tests.engine.registry import served
from tests.engine.standins import Provision, ensure_images
from tests.helpers import git_project

pytestmark = pytest.mark.docker

Build = Callable[..., BuildOutcome]


def org_config(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "org.toml"
    config.write_text(text, encoding="utf-8")
    return config


def prefix_form(registry: LoopbackRegistry) -> str:
    return f'[registry]\nprefix = "{registry.address}"\n'


def upstreams_form(registry: LoopbackRegistry) -> str:
    return (
        "[registry.upstreams]\n"
        f'"docker.io" = "{registry.address}/docker.io"\n'
        f'"gcr.io" = "{registry.address}/gcr.io"\n'
    )


def render(tmp_path: Path, lang: str, base: str, config: Path, *extra: str) -> Path:
    return new_project(tmp_path / f"{lang}-{base}", lang, base, config, *extra)


def references(project: Path) -> list[str]:
    text = (project / "Dockerfile").read_text(encoding="utf-8")
    return sorted({image.ref.tagged for image in base_images(text)})


def forget(client: Any, refs: list[str]) -> None:
    """Remove these names from the engine's store (the tags only), so a build must pull."""
    for ref in refs:
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.remove(ref, noprune=True)
        with pytest.raises(docker.errors.ImageNotFound):
            client.images.get(ref)


@pytest.mark.parametrize("form", ["prefix", "upstreams"])
def test_a_build_pulls_its_bases_through_the_registry_mapping(
    tmp_path: Path,
    form: str,
    *,
    loopback_registry: LoopbackRegistry,
    docker_client: Any,
    build: Build,
    buildable: Callable[[str, str], str | None],
) -> None:
    if reason := buildable("go", "distroless"):
        pytest.skip(reason)
    text = (prefix_form if form == "prefix" else upstreams_form)(loopback_registry)
    project = render(tmp_path, "go", "distroless", org_config(tmp_path, text))
    refs = references(project)
    assert refs and all(ref.startswith(loopback_registry.address + "/") for ref in refs)
    forget(docker_client, refs)
    offset = loopback_registry.log_offset()
    outcome = build(project, "release", f"stagekit-test/pull-{form}:release")
    assert outcome.ok, outcome.log[-3000:]
    fetched = loopback_registry.manifest_requests(offset)
    wanted = {ref.removeprefix(loopback_registry.address + "/").rsplit(":", 1)[0] for ref in refs}
    assert wanted <= {repository for repository, _ in fetched}, fetched
    assert all(agent.startswith("buildkit/") for _, agent in fetched), "BuildKit pulled them"


def test_pin_and_pin_check_against_the_registry(
    tmp_path: Path,
    loopback_registry: LoopbackRegistry,
    capsys: pytest.CaptureFixture[str],
    buildable: Callable[[str, str], str | None],
) -> None:
    if reason := buildable("go", "scratch"):
        pytest.skip(reason)
    project = render(
        tmp_path, "go", "scratch", org_config(tmp_path, prefix_form(loopback_registry))
    )
    capsys.readouterr()
    assert main(["pin", str(project), "--check"]) == 1
    assert "not pinned to the current digest" in capsys.readouterr().err
    assert main(["pin", str(project)]) == 0
    text = (project / "Dockerfile").read_text()
    record = json.loads((project / ".stagekit.json").read_text())
    for ref in references(project):
        name, tag = ref.removeprefix(loopback_registry.address + "/").rsplit(":", 1)
        now = served(loopback_registry.paths, name, tag)
        assert now is not None
        assert f"{ref}@{now.digest}" in text and record["pins"][ref] == now.digest
    capsys.readouterr()
    assert main(["pin", str(project), "--check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_a_registry_that_does_not_answer_is_told_apart_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], docker_host: str
) -> None:
    # The engine answers; nothing listens on this port of 127.0.0.1 (a closed port fails fast).
    closed = "127.0.0.1:9"
    project = render(
        tmp_path, "go", "scratch", org_config(tmp_path, f'[registry]\nprefix = "{closed}"\n')
    )
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["pin", str(project)]) == 3
    message = capsys.readouterr().err.splitlines()[0]
    assert f"the registry {closed} did not answer for {closed}/docker.io/library/golang" in message
    assert before == {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    assert main(["pin", str(project), "--check"]) == 1, "unpinned references are still listed"
    capsys.readouterr()
    assert (
        main(
            [
                "new",
                str(tmp_path / "gone"),
                "--pin",
                "--no-input",
                "--config",
                str(tmp_path / "org.toml"),
            ]
        )
        == 3
    )
    assert not (tmp_path / "gone").exists()


def _push_as(client: Any, image: Any, repository: str, tag: str) -> None:
    image.tag(repository, tag)
    try:
        for line in client.api.push(repository, tag=tag, stream=True, decode=True):
            assert not line.get("error"), line
    finally:
        client.images.remove(f"{repository}:{tag}", noprune=True)


def test_a_pinned_project_builds_the_same_image_after_its_tag_moved(
    tmp_path: Path,
    *,
    loopback_registry: LoopbackRegistry,
    docker_client: Any,
    build: Build,
    capsys: pytest.CaptureFixture[str],
    buildable: Callable[[str, str], str | None],
) -> None:
    if reason := buildable("go", "distroless"):
        pytest.skip(reason)
    moving = f"{loopback_registry.address}/moving/static-debian13"
    text = prefix_form(loopback_registry) + (
        f'[registry.map]\n"gcr.io/distroless/static-debian13" = "{moving}"\n'
    )
    unpinned = render(tmp_path, "go", "distroless", org_config(tmp_path, text))
    for tag in ("nonroot", "debug-nonroot"):
        standin = docker_client.images.get(f"gcr.io/distroless/static-debian13:{tag}")
        _push_as(docker_client, standin, moving, tag)
    pinned = tmp_path / "pinned"
    shutil.copytree(unpinned, pinned)
    assert main(["pin", str(pinned)]) == 0

    def release_id(project: Path, name: str) -> str:
        outcome = build(project, "release", f"stagekit-test/moved-{name}:release")
        assert outcome.ok, outcome.log[-3000:]
        return str(docker_client.images.get(f"stagekit-test/moved-{name}:release").id)

    first = {name: release_id(p, name) for name, p in (("pinned", pinned), ("unpinned", unpinned))}
    # Another image under the same tag: the stand-in with one more label.
    container = docker_client.containers.create(
        "gcr.io/distroless/static-debian13:nonroot", command=["never-run"]
    )
    try:
        other = container.commit(changes=["LABEL org.stagekit.test.moved=yes"])
    finally:
        container.remove()
    _push_as(docker_client, other, moving, "nonroot")
    capsys.readouterr()
    assert main(["pin", str(pinned), "--check"]) == 1
    assert f"{moving}:nonroot" in capsys.readouterr().err
    second = {name: release_id(p, name) for name, p in (("pinned", pinned), ("unpinned", unpinned))}
    assert second["pinned"] == first["pinned"], "pinned: the same sources give the same image"
    assert second["unpinned"] != first["unpinned"], "unpinned: the moved tag changed the image"


@pytest.mark.parametrize("lang", ["go", "rust", "python"])
def test_a_pinned_project_passes_smoke(
    tmp_path: Path,
    lang: str,
    loopback_registry: LoopbackRegistry,
    docker_host: str,
    buildable: Callable[[str, str], str | None],
) -> None:
    if reason := buildable(lang, "distroless"):
        pytest.skip(reason)
    project = render(
        tmp_path, lang, "distroless", org_config(tmp_path, prefix_form(loopback_registry))
    )
    assert main(["pin", str(project)]) == 0
    record = json.loads((project / ".stagekit.json").read_text())
    # Smoke compares the release image with its base, so the pinned bases are pulled first.
    for ref, digest in record["pins"].items():
        pulled = subprocess.run(
            ["docker", "pull", "-q", f"{ref}@{digest}"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert pulled.returncode == 0, pulled.stderr
    code, report, stderr = run_smoke(project, *SESSION_ARGS, "--max-size", "500MB")
    assert code == 0, stderr[-3000:]
    skipped = [c for c in report["checks"] if c["status"] == "skipped"]
    assert skipped == [], skipped


#: A second, separate engine (tests/engine/paths.py) whose daemon has the registry as its mirror.
MIRRORED_INSTANCE = 31


@pytest.mark.parametrize("ref", ["alpine:3.22", "gcr.io/distroless/static-debian13:nonroot"])
def test_try_pull_takes_a_docker_hub_image_from_the_daemons_registry_mirror(
    ref: str, loopback_registry: LoopbackRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "/" in ref and "." in ref.split("/", 1)[0]:
        pytest.skip(
            f"{ref}: the daemon's registry-mirrors apply to Docker Hub only; an image of another "
            "registry is mirrored through the org config's [registry] mapping instead"
        )
    paths = EnginePaths.from_env({"STAGEKIT_ENGINE_INSTANCE": str(MIRRORED_INSTANCE)})
    clean(paths)
    try:
        host = ensure_daemon(paths=paths, registry_mirrors=[f"http://{loopback_registry.address}"])
        monkeypatch.setenv("STAGEKIT_TRY_PULL", "1")
        offset = loopback_registry.log_offset()
        [result] = ensure_images(host, [ref], paths=paths)
        assert result.status is Provision.PULLED, result
        fetched = loopback_registry.manifest_requests(offset)
        assert ("library/alpine", fetched[0][1]) in fetched and fetched[0][1].startswith("docker/")
    finally:
        clean(paths)


def test_update_repins_a_tag_the_new_scaffold_moved_to(
    tmp_path: Path, loopback_registry: LoopbackRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pinned project updated to a scaffold whose debug image is another one: re-pinned."""
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    shutil.copytree(builtin(Language.GO).path, v1, symlinks=False)
    shutil.copytree(v1, v2)
    catalog = json.loads((v2 / "cookiecutter.json").read_text())
    catalog["_stagekit"]["scaffold_version"] = "9.1.0"
    catalog["_stagekit"]["images"]["debug"]["distroless"] = "alpine:3.22"
    (v2 / "cookiecutter.json").write_text(json.dumps(catalog, indent=2))
    config = org_config(tmp_path, prefix_form(loopback_registry))
    project = render(tmp_path, "go", "distroless", config, "--scaffold", str(v1), "--pin")
    git_project(project)
    capsys.readouterr()
    assert main(["update", str(project), "--scaffold", str(v2), "--no-lint", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    moved = f"{loopback_registry.address}/docker.io/library/alpine:3.22"
    now = served(loopback_registry.paths, "docker.io/library/alpine", "3.22")
    assert now is not None
    assert report["notes"] == [f"re-pinned {moved}: the scaffold moved to it"]
    text = (project / "Dockerfile").read_text()
    assert f"FROM {moved}@{now.digest} AS debug" in text
    assert "debug-nonroot" not in text
    record = json.loads((project / ".stagekit.json").read_text())
    assert record["pins"][moved] == now.digest and record["scaffold"]["version"] == "9.1.0"
    assert main(["pin", str(project), "--check"]) == 0
