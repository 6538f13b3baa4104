"""arm64 on an amd64 machine: release images built for linux/arm64 and run under QEMU user
emulation (binfmt_misc, fix-binary flag), judged by the same hardened checks.

The bases come from the loopback registry as two-platform indexes (amd64 + an arm64 stand-in made
from Debian's arm64 packages; tests/engine/indexes.py), through the org config's prefix, as a
project would take them from a mirror. Go builds on the build platform and cross-compiles;
Python's build stage runs emulated. The emulated run scales smoke's waits and says so. Rust for
arm64 is checked as far as these machines allow (the aarch64 std is unreachable).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from stagekit.engine.client import BuildRequest, Endpoint, buildx_build, system_ca_bundle

from tests.docker.support import (
    LoopbackRegistry,
    build_args,
    file_from_image,
    new_project,
    run_smoke,
)
from tests.helpers import ARM64_COMBINATIONS

pytestmark = pytest.mark.docker

EM_AARCH64 = 0xB7


def elf_machine(client: Any, image: str, path: str) -> int:
    """The ELF machine of the file at ``path`` in ``image``, following symlinks."""
    head = file_from_image(client, image, path)[:20]
    assert head[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int(struct.unpack_from("<H", head, 18)[0])


@pytest.mark.parametrize("combo", ARM64_COMBINATIONS, ids="-".join)
def test_release_is_built_and_smoked_on_arm64_under_emulation(
    combo: tuple[str, str],
    tmp_path: Path,
    docker_client: Any,
    buildable: Callable[[str, str], str | None],
    arm64_registry: LoopbackRegistry,
) -> None:
    """The release stage for linux/arm64 from bases served as two-platform indexes, run under
    QEMU with the same hardened checks. Go cross-compiles on the build platform; Python's build
    stage runs emulated (its interpreter and wheels are aarch64)."""
    lang, base = combo
    if reason := buildable(lang, base):
        pytest.skip(reason)
    config = tmp_path / "org.toml"
    config.write_text(f'[registry]\nprefix = "{arm64_registry.address}"\n')
    project = new_project(tmp_path / "arm-svc", lang, base, config)
    code, report, stderr = run_smoke(
        project, "--stage", "release", "--platform", "linux/arm64", "--keep"
    )
    checks = {c["name"]: c["status"] for c in (report or {}).get("checks", [])}
    assert code == 0, (checks, stderr[-3000:])
    assert report["platform"] == {"name": "linux/arm64", "emulated": True, "timeout_scale": 5.0}
    for name in ("hardened run", "healthy", "health endpoint", "sigterm"):
        assert checks[name] == "passed", (name, checks)
    assert checks["no shell"] == ("skipped" if base == "alpine" else "passed"), checks
    image = report["stages"][0]["image"]
    attrs = docker_client.images.get(image).attrs
    assert attrs["Architecture"] == "arm64"
    program = (attrs["Config"].get("Entrypoint") or attrs["Config"]["Cmd"])[0]
    assert elf_machine(docker_client, image, program) == EM_AARCH64, program
    docker_client.images.remove(image, force=True)


def test_rust_for_arm64_fails_here_only_for_the_missing_standard_library(
    tmp_path: Path,
    endpoint: Endpoint,
    buildable: Callable[[str, str], str | None],
) -> None:
    """Rust on arm64 cannot be built here: the aarch64 standard library of the catalog's Rust
    comes only from rustup's server, which is unreachable (Debian's arm64 std belongs to Debian's
    own rustc). What can be checked is checked: the build stage, rendered for TARGETARCH=arm64
    with only `rustup target add` left out, installs Debian's cross linker from the archive and
    configures cargo for it, and `cargo build --target aarch64-unknown-linux-gnu` then fails on
    the missing standard library (E0463), not on the linker setup."""
    if reason := buildable("rust", "scratch"):
        pytest.skip(reason)
    project = new_project(tmp_path / "arm-rust", "rust", "scratch")
    dockerfile = project / "Dockerfile"
    text = dockerfile.read_text()
    assert text.count('rustup target add "$target"') == 1
    dockerfile.write_text(
        text.replace('rustup target add "$target"', 'echo "rustup target add: unreachable here"')
    )
    request = BuildRequest(
        context=project,
        target="build",
        tag="stagekit-test/arm-rust:build",
        build_args=build_args(),
        ca_bundle=system_ca_bundle(),
        platform="linux/arm64",
        no_cache=True,  # the apt step must run (and show its output), not come from the cache
    )
    outcome = buildx_build(endpoint, request, timeout=1800)
    assert not outcome.ok, "an arm64 Rust build succeeded without the aarch64 standard library"
    log = outcome.log
    assert "Setting up gcc-aarch64-linux-gnu" in log, outcome.tail(40)
    assert "Setting up libc6-dev-arm64-cross" in log, outcome.tail(40)
    assert "error[E0463]: can't find crate for" in log, outcome.tail(40)
    assert "aarch64-unknown-linux-gnu` target may not be installed" in log, outcome.tail(40)
    assert "linker `aarch64-linux-gnu-gcc` not found" not in log
