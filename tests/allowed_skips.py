"""The only skips ``./scripts/test`` accepts: every other skip fails the run.

Run by hand, any test still just skips with its reason. Under ``./scripts/test``
(``STAGEKIT_STRICT_SKIPS=1``), tests/conftest.py turns a skip that matches no entry here into a
failure naming the test and its reason, and prints the allowed ones that happened, with the reason
each is allowed. An entry matches a test id (fnmatch pattern) *and* a fragment of the skip's own
reason, so the same test skipping for another cause (an engine that did not start, a missing
toolchain) is still a failure. Later work adds its entries here (no binfmt, Rust on arm64, images
that cannot be made here), each with why it cannot run on CI's machines.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class AllowedSkip:
    test: str  # fnmatch pattern on the pytest node id
    says: str  # the skip's reason must contain this
    why: str  # why losing this coverage here is accepted


ALLOWED: tuple[AllowedSkip, ...] = (
    AllowedSkip(
        "tests/docker/test_arm64.py::*",
        "binfmt handler for arm64",
        "arm64 containers run under QEMU user emulation, which needs the kernel's binfmt_misc; "
        "scripts/install-engine.sh mounts it and registers the handler where the kernel lets it, "
        "and a kernel (or a container runtime) that refuses leaves amd64 only",
    ),
    AllowedSkip(
        "tests/docker/test_remote_builder.py::test_release_multi_*",
        "binfmt handler for arm64",
        "release-multi runs its arm64 image under QEMU user emulation (binfmt_misc), as the arm64 "
        "tests do; where the kernel refuses it the two-platform build is not run either",
    ),
    AllowedSkip(
        "tests/docker/test_pin.py::test_try_pull_takes_a_docker_hub_image_from_the_daemons_"
        "registry_mirror[[]gcr.io/*[]]",
        "registry-mirrors apply to Docker Hub only",
        "dockerd's registry-mirrors setting mirrors Docker Hub and nothing else; images of other "
        "registries reach builds through the org config's [registry] mapping, which "
        "tests/docker/test_pin.py proves with real pulls (docs/pinning.md)",
    ),
    AllowedSkip(
        "tests/docker/test_inventory.py::test_every_debian_package_in_the_image_is_inventoried"
        "[[]*-alpine[]]",
        "it has no package database",
        "the alpine stand-in is busybox and musl made from Debian's packages, not Alpine's: there "
        "is no apk database to inventory; the real alpine:3.22 has one (docs/test-engine.md)",
    ),
)


def allowed(nodeid: str, reason: str) -> AllowedSkip | None:
    """The entry that allows ``nodeid`` to skip with ``reason``, if any."""
    for entry in ALLOWED:
        if fnmatchcase(nodeid, entry.test) and entry.says in reason:
            return entry
    return None
