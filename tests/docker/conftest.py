"""Docker tier fixtures: the suite's own engine, stand-in base images, one build per combination.

Every image a combination needs is read from the scaffolds' catalog (``Scaffold.images_for``) and
provisioned on the suite's own daemon (tests/engine), never on a user's. Each combination is
rendered and built once per session; the language and smoke tests assert on those builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from stagekit.engine.client import (
    BuildOutcome,
    BuildRequest,
    Endpoint,
    buildx_build,
    system_ca_bundle,
)
from stagekit.errors import StagekitError
from stagekit.model import Base, Language
from stagekit.model.catalog import builtin

from tests.docker.support import Built, LoopbackRegistry, build_args, emulation_missing
from tests.engine.daemon import ensure_daemon
from tests.engine.indexes import publish_indexes, with_foreign_standin
from tests.engine.paths import EnginePaths
from tests.engine.registry import ensure_registry, push_images
from tests.engine.standins import StandinUnavailable, ensure_images
from tests.helpers import ALL_COMBINATIONS, ARM64_COMBINATIONS, host_versions, render_project


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/docker/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str]:
    host = ensure_daemon()
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = host
    os.environ.pop("DOCKER_CONTEXT", None)
    yield host
    bound_disk_use(host)
    if previous is None:
        os.environ.pop("DOCKER_HOST", None)
    else:
        os.environ["DOCKER_HOST"] = previous


#: Build cache the suite keeps between runs: enough to stay warm, bounded on a small disk.
KEEP_BUILD_CACHE = "10gb"


def bound_disk_use(host: str) -> None:
    """The prune policy: drop images the run left untagged and trim the build cache to a bound.

    Tagged images (stand-ins, the last run's builds) stay, so the next run starts warm.
    """
    env = {**os.environ, "DOCKER_HOST": host}
    env.pop("DOCKER_CONTEXT", None)
    for command in (
        ["docker", "image", "prune", "--force"],
        ["docker", "buildx", "prune", "--force", "--keep-storage", KEEP_BUILD_CACHE],
    ):
        subprocess.run(command, env=env, capture_output=True, timeout=300, check=False)


@pytest.fixture(scope="session")
def endpoint(docker_host: str) -> Endpoint:
    return Endpoint(docker_host, "test suite")


@pytest.fixture(scope="session")
def docker_client(endpoint: Endpoint):  # type: ignore[no-untyped-def]
    client = endpoint.client()
    yield client
    client.close()


@dataclass
class Provisioning:
    """Which combinations can be built here, and why not where they cannot."""

    reasons: dict[tuple[str, str], str] = field(default_factory=dict)
    refs: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # the provisioned ones

    def reason(self, lang: str, base: str) -> str | None:
        return self.reasons.get((lang, base))


@pytest.fixture(scope="session")
def provisioning(docker_host: str) -> Provisioning:
    """Provision the stand-ins of every combination at once (parallel inside ensure_images)."""
    result = Provisioning()
    versions = host_versions()
    wanted: dict[tuple[str, str], list[str]] = {}
    for lang, base in ALL_COMBINATIONS:
        try:
            scaffold = builtin(Language(lang))
        except StagekitError as exc:
            result.reasons[(lang, base)] = f"the {lang} scaffold cannot be read: {exc}"
            continue
        version = versions[Language(lang)]
        if version is None or version not in scaffold.versions:
            result.reasons[(lang, base)] = (
                f"no {lang} toolchain here matches the catalog's versions {scaffold.versions}"
            )
            continue
        if not scaffold.supports(Base(base), version):
            result.reasons[(lang, base)] = f"{lang} {version} on {base} is not in the catalog"
            continue
        refs = [
            ref for ref in scaffold.images_for(Base(base), version).values() if ref != "scratch"
        ]
        wanted[(lang, base)] = refs
    for combo, refs in wanted.items():
        try:
            ensure_images(docker_host, refs)
            result.refs[combo] = refs
        except StandinUnavailable as exc:
            result.reasons[combo] = f"offline: {exc}"
    return result


@pytest.fixture(scope="session")
def loopback_registry(provisioning: Provisioning) -> LoopbackRegistry:
    """The suite's registry on 127.0.0.1, holding every provisioned stand-in (pushed once per
    machine: a name whose served image is this one is skipped)."""
    paths = EnginePaths.from_env()
    address = ensure_registry(paths=paths)
    refs = sorted({ref for refs in provisioning.refs.values() for ref in refs})
    push_images(refs, paths=paths)
    return LoopbackRegistry(address, paths)


@pytest.fixture(scope="session")
def arm64_registry(
    provisioning: Provisioning, loopback_registry: LoopbackRegistry
) -> LoopbackRegistry:
    """The loopback registry serving the arm64 combinations' bases as two-platform indexes
    (tests/engine/indexes.py). The toolchain images stay amd64 only: they run on the build
    platform. Skips when arm64 binaries cannot run here."""
    if reason := emulation_missing():
        pytest.skip(reason)
    refs = [ref for combo in ARM64_COMBINATIONS for ref in provisioning.refs.get(combo, [])]
    publish_indexes(with_foreign_standin(refs), "arm64", paths=loopback_registry.paths)
    return loopback_registry


@pytest.fixture(scope="session")
def buildable(provisioning: Provisioning) -> Callable[[str, str], str | None]:
    return provisioning.reason


#: runc's message when a step's container process was cut off before it started (no command of the
#: project ran): the engine's failure, not the build's.
ENGINE_START_FAILURE = "waiting for init preliminary setup: read init-p: connection reset by peer"


@pytest.fixture(scope="session")
def build(endpoint: Endpoint) -> Callable[..., BuildOutcome]:
    """One ``docker buildx build`` of a target, with the CA secret and SOURCE_DATE_EPOCH."""

    def run(project: Path, target: str, tag: str, *, no_cache: bool = False) -> BuildOutcome:
        request = BuildRequest(
            context=project,
            target=target,
            tag=tag,
            build_args=build_args(),
            ca_bundle=system_ca_bundle(),
            no_cache=no_cache,
        )
        outcome = buildx_build(endpoint, request, timeout=1800)
        if not outcome.ok and ENGINE_START_FAILURE in outcome.log:
            # Seen once under load on 2 cores: the build container never started, so the
            # project was not built at all. One more try; a second failure is reported.
            warnings.warn(
                f"{tag}: the engine could not start a build container; built once more",
                stacklevel=1,
            )
            outcome = buildx_build(endpoint, request, timeout=1800)
        return outcome

    return run


@pytest.fixture(scope="session")
def workspace() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="stagekit-docker-tier-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def builds(
    provisioning: Provisioning,
    build: Callable[..., BuildOutcome],
    workspace: Path,
) -> Callable[[str, str], Built]:
    """``builds(lang, base)``: render once, build test/debug/release once, then reuse."""
    cache: dict[tuple[str, str], Built] = {}
    versions = host_versions()

    def get(lang: str, base: str) -> Built:
        reason = provisioning.reason(lang, base)
        if reason is not None:
            pytest.skip(reason)
        if (lang, base) not in cache:
            folder = workspace / f"{lang}-{base}"
            folder.mkdir()
            project = render_project(
                folder,
                lang,
                base,
                project_name=f"smoke-{lang}-{base}",
                version=versions[Language(lang)],
            )
            built = Built(lang, base, project)
            for stage in ("test", "debug", "release"):
                tag = f"stagekit-test/{lang}-{base}:{stage}"
                outcome = build(project, stage, tag)
                built.outcomes[stage] = outcome
                built.seconds[stage] = outcome.seconds
                built.logs[stage] = outcome.log
                if outcome.ok:
                    built.images[stage] = tag
            cache[(lang, base)] = built
        built = cache[(lang, base)]
        failed = [stage for stage, outcome in built.outcomes.items() if not outcome.ok]
        if failed:
            stage = failed[0]
            pytest.fail(
                f"{lang}/{base}: build of {stage} failed:\n{built.outcomes[stage].tail(40)}"
            )
        return built

    return get
