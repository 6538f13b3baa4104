"""Every release image is inventoried by a standard scanner (Syft): the app's dependencies at
their locked versions, the runtime, and each Debian package whose files are in the image.

The truths come from the sources (tests/docker/inventory.py): ``go version -m``, ``cargo tree``,
the venv against uv.lock, the image's own dpkg records. One negative is end to end: a Rust
release built with plain ``cargo build`` hides every crate.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from stagekit.engine.client import BuildOutcome, Endpoint
from stagekit.sbom import inventory
from stagekit.smoke.checks import judge_inventory

from tests.docker.inventory import (
    deb_missing,
    deb_records,
    go_missing,
    image_tar,
    python_missing,
    rust_missing,
)
from tests.docker.support import (
    Built,
    binary_path,
    copy_project,
    file_from_image,
    remove_image,
    run_smoke,
)
from tests.helpers import ALL_COMBINATIONS

pytestmark = pytest.mark.docker

DEBIAN = "debian-13"


@pytest.mark.parametrize(("lang", "base"), ALL_COMBINATIONS)
def test_the_apps_dependencies_and_runtime_are_inventoried(
    lang: str,
    base: str,
    *,
    builds: Callable[[str, str], Built],
    docker_client: Any,
    endpoint: Endpoint,
    tmp_path: Path,
) -> None:
    built = builds(lang, base)
    image = built.images["release"]
    found = inventory(image, endpoint)
    if lang == "go":
        binary = tmp_path / "binary"
        binary.write_bytes(file_from_image(docker_client, image, binary_path(built)))
        missing = go_missing(found, binary)
    elif lang == "rust":
        missing = rust_missing(found, built.project)
        assert found.of_type("rust-crate"), "no crate at all: cargo auditable did not run"
    else:
        missing = python_missing(found, image_tar(docker_client, image), built.project)
        cpython = [c for c in found.components if "python" in c.name and c.version[:4] == "3.13"]
        assert cpython, f"no CPython 3.13 in {found.describe()}"
    print(f"inventory {lang}/{base}: {found.describe()}")
    assert missing == [], f"{lang}/{base}: {missing}"


@pytest.mark.parametrize(("lang", "base"), ALL_COMBINATIONS)
def test_every_debian_package_in_the_image_is_inventoried(
    lang: str,
    base: str,
    *,
    builds: Callable[[str, str], Built],
    docker_client: Any,
    endpoint: Endpoint,
) -> None:
    if base == "alpine":
        pytest.skip(
            "the alpine stand-in is not made from Alpine's packages: it has no package database "
            "(/lib/apk/db/installed) for a scanner to read"
        )
    built = builds(lang, base)
    image = built.images["release"]
    records = deb_records(image_tar(docker_client, image))
    if base == "scratch" and lang != "python":
        assert records == {}, "a static binary on scratch copies no package's files"
        return
    assert records, "distroless keeps a record per package; python on scratch writes its own"
    found = inventory(image, endpoint)
    assert found.distro == "debian 13", found.describe()
    missing = deb_missing(found, records, DEBIAN)
    print(f"debian packages {lang}/{base}: {len(records)} recorded, {found.describe()}")
    assert missing == [], f"{lang}/{base}: {missing}"


def test_a_rust_release_built_with_plain_cargo_build_hides_its_crates(
    builds: Callable[[str, str], Built],
    build: Callable[..., BuildOutcome],
    docker_client: Any,
    endpoint: Endpoint,
    tmp_path: Path,
) -> None:
    project = copy_project(builds("rust", "scratch"), tmp_path)
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("cargo auditable build", "cargo build"))
    tag = "stagekit-test/rust-plain-cargo:release"
    try:
        outcome = build(project, "release", tag)
        assert outcome.ok, outcome.tail(30)
        found = inventory(tag, endpoint)
        missing = rust_missing(found, project)
    finally:
        remove_image(docker_client, tag)
    assert missing and all(line.endswith("(absent)") for line in missing), missing
    named = {line.split()[0] for line in missing}
    assert {"tokio", "serde"} <= named, sorted(named)
    verdict = judge_inventory(found, "rust")
    assert verdict.failed and "cargo auditable" in verdict.detail, verdict


def test_smoke_reports_the_inventory_and_writes_a_valid_cyclonedx_sbom(
    builds: Callable[[str, str], Built], tmp_path: Path
) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    built = builds("go", "distroless")
    sbom = tmp_path / "sbom.cdx.json"
    image = f"release={built.images['release']}"
    code, report, stderr = run_smoke(
        built.project, "--stage", "release", "--image", image, "--sbom", str(sbom)
    )
    assert code == 0, stderr[-2000:]
    assert report["inventory"]["by_type"] == {"deb": 6, "go-module": 2}, report["inventory"]
    assert report["inventory"]["distro"] == "debian 13"
    [check] = [c for c in report["checks"] if c["name"] == "inventory"]
    assert check["status"] == "passed", check
    text = sbom.read_text()
    version = SchemaVersion.from_version(json.loads(text)["specVersion"])
    assert JsonStrictValidator(version).validate_str(text) is None
    names = {c["name"] for c in json.loads(text)["components"]}
    assert {"stdlib", "tzdata", "ca-certificates"} <= names
