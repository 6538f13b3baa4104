"""arm64 on an amd64 machine: a project cross-compiled for arm64 and its release image run under
QEMU user emulation (binfmt_misc, fix-binary flag), judged by the same hardened checks.

Go on scratch needs no arm64 base image: the build stage runs on the build machine's platform
and cross-compiles, and scratch is empty. The emulated run scales smoke's waits and says so. Rust
for arm64 is checked as far as these machines allow (the aarch64 std is unreachable).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from stagekit.engine.client import BuildRequest, Endpoint, buildx_build, system_ca_bundle

from tests.docker.support import build_args, file_from_image, new_project, run_smoke

pytestmark = pytest.mark.docker

BINFMT = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
EM_AARCH64 = 0xB7


def emulation_missing() -> str | None:
    """Why arm64 binaries cannot run here, or None."""
    try:
        text = BINFMT.read_text()
    except OSError:
        return "no binfmt handler for arm64 (qemu-aarch64) is registered: the kernel refused it"
    if not text.startswith("enabled"):
        return "the binfmt handler for arm64 (qemu-aarch64) is disabled"
    flags = next(
        (line.split(":", 1)[1] for line in text.splitlines() if line.startswith("flags")), ""
    )
    if "F" not in flags:
        return (
            "the binfmt handler for arm64 lacks the fix-binary flag (F): containers cannot use it"
        )
    return None


def test_go_on_scratch_is_smoked_on_arm64_under_emulation(
    tmp_path: Path,
    docker_client: Any,
    buildable: Callable[[str, str], str | None],
) -> None:
    if reason := emulation_missing():
        pytest.skip(reason)
    if reason := buildable("go", "scratch"):
        pytest.skip(reason)
    project = new_project(tmp_path / "arm-svc", "go", "scratch")
    code, report, stderr = run_smoke(
        project, "--stage", "release", "--platform", "linux/arm64", "--keep"
    )
    assert code == 0, stderr[-3000:]
    assert report["platform"] == {"name": "linux/arm64", "emulated": True, "timeout_scale": 5.0}
    checks = {c["name"]: c["status"] for c in report["checks"]}
    for name in ("hardened run", "healthy", "health endpoint", "sigterm", "no shell"):
        assert checks[name] == "passed", (name, checks)
    image = report["stages"][0]["image"]
    assert docker_client.images.get(image).attrs["Architecture"] == "arm64"
    binary = file_from_image(docker_client, image, "/usr/local/bin/arm-svc")
    assert binary[:4] == b"\x7fELF" and struct.unpack_from("<H", binary, 18)[0] == EM_AARCH64
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
