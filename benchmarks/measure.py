"""Everything that talks to the engine: which combinations can be built, builds, prunes, images.

Builds go through :func:`stagekit.engine.client.buildx_build` (BuildKit, the CA bundle as a secret,
``SOURCE_DATE_EPOCH``); images are inspected and exported through the docker SDK on the same
endpoint (:func:`stagekit.engine.client.resolve_endpoint`).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from stagekit.engine.client import (
    BuildOutcome,
    BuildRequest,
    Endpoint,
    buildx_build,
    created_label,
)
from stagekit.engine.imagefs import ChunkStream, FsEntry, scan_tar
from stagekit.errors import StagekitError
from stagekit.model import Base, Language
from stagekit.model.answers import defaults, validate
from stagekit.model.catalog import Scaffold, builtin
from stagekit.new.render import generate

if TYPE_CHECKING:
    from docker import DockerClient

STANDIN_LABEL = "org.stagekit.standin"
TAG_PREFIX = "stagekit-bench"
PROJECT_NAME = "hello-service"
#: Roles a release build does not need (their images may be missing without harm).
NOT_FOR_RELEASE = frozenset({"debug"})
#: The command that prints each build image's toolchain version.
TOOLCHAIN_COMMAND: dict[Language, list[str]] = {
    Language.GO: ["go", "version"],
    Language.RUST: ["rustc", "--version"],
    Language.PYTHON: ["python3", "--version"],
}


@dataclass
class Combo:
    """One language x base: buildable here (``reason`` None) or why not."""

    language: Language
    base: Base
    version: str | None = None
    scaffold: Scaffold | None = None
    images: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    project: Path | None = None

    @property
    def key(self) -> str:
        return f"{self.language}/{self.base}"

    def tag(self, what: str) -> str:
        return f"{TAG_PREFIX}/{self.language}-{self.base}:{what}"


@dataclass
class Engine:
    """The endpoint, an SDK client on it, and how builds are made."""

    endpoint: Endpoint
    client: DockerClient
    ca_bundle: Path | None
    epoch: int
    log: Callable[[str], None]
    created_tags: list[str] = field(default_factory=list)

    def build_args(self) -> dict[str, str]:
        return {
            "SOURCE_DATE_EPOCH": str(self.epoch),
            "CREATED": created_label(self.epoch),
            "VERSION": "0.1.0",
            "REVISION": "benchmark",
        }

    def build(
        self, project: Path, tag: str, *, target: str = "release", no_cache: bool = False
    ) -> BuildOutcome:
        """One ``docker buildx build`` of ``target``."""
        request = BuildRequest(
            context=project,
            target=target,
            tag=tag,
            build_args=self.build_args(),
            ca_bundle=self.ca_bundle,
            no_cache=no_cache,
        )
        outcome = buildx_build(self.endpoint, request, timeout=3600)
        if outcome.ok:
            self.created_tags.append(tag)
        return outcome

    def prune(self) -> tuple[float, str]:
        """``docker builder prune -af``: the whole build cache, cache mounts included."""
        started = time.monotonic()
        result = subprocess.run(
            ["docker", "builder", "prune", "-af"],
            capture_output=True,
            text=True,
            timeout=900,
            env=self.endpoint.cli_env(),
            check=False,
        )
        seconds = time.monotonic() - started
        if result.returncode != 0:
            raise StagekitError(f"docker builder prune -af failed: {result.stderr.strip()}")
        total = [line for line in result.stdout.splitlines() if line.startswith("Total")]
        return seconds, (total[-1].split(":", 1)[-1].strip() if total else "0B")

    def image(self, reference: str) -> Any:
        import docker.errors

        try:
            return self.client.images.get(reference)
        except docker.errors.ImageNotFound:
            return None

    def image_facts(self, reference: str) -> dict[str, Any]:
        """ID, size and whether the image is an offline stand-in (label)."""
        if reference == "scratch":
            return {"ref": reference, "present": True, "id": None, "size": 0, "standin": False}
        image = self.image(reference)
        if image is None:
            return {"ref": reference, "present": False, "id": None, "size": None, "standin": None}
        labels = (image.attrs.get("Config") or {}).get("Labels") or {}
        return {
            "ref": reference,
            "present": True,
            "id": image.id,
            "size": int(image.attrs.get("Size") or 0),
            "standin": str(labels.get(STANDIN_LABEL, "")).lower() == "true",
        }

    def export(self, reference: str) -> dict[str, FsEntry]:
        """The image's flattened filesystem (a created, never started, container exported)."""
        container = self.client.containers.create(reference, labels={"org.stagekit.bench": "1"})
        try:
            chunks = cast(
                Iterator[bytes], iter(container.export(chunk_size=1 << 20))
            )  # SDK stubs say str
            return scan_tar(ChunkStream(chunks))
        finally:
            with contextlib.suppress(Exception):
                container.remove(force=True)

    def toolchain(self, language: Language, image: str) -> str:
        """The toolchain version inside a build image (no network, removed after)."""
        try:
            output = self.client.containers.run(
                image,
                TOOLCHAIN_COMMAND[language],
                remove=True,
                network_disabled=True,
                entrypoint=[],
            )
        except Exception as exc:  # the version line is informative only
            return f"unavailable ({type(exc).__name__})"
        text = output.decode("utf-8", "replace").strip() if isinstance(output, bytes) else ""
        return text.splitlines()[0] if text else ""

    def remove_tags(self) -> list[str]:
        removed = []
        for tag in dict.fromkeys(self.created_tags):
            with contextlib.suppress(Exception):
                self.client.images.remove(tag, noprune=False)
                removed.append(tag)
        return removed


# --- which combinations, rendered how -----------------------------------------------------------


def plan(
    engine: Engine,
    languages: list[Language],
    bases: list[Base],
    offline_reason: Callable[[str], str | None],
) -> list[Combo]:
    """Every language x base, each with the version to build or the reason it is skipped."""
    combos: list[Combo] = []
    for language in languages:
        try:
            scaffold = builtin(language)
        except StagekitError as exc:
            for base in bases:
                combos.append(Combo(language, base, reason=f"no {language} scaffold: {exc}"))
            continue
        for base in bases:
            combos.append(_plan_one(engine, scaffold, language, base, offline_reason))
    return combos


def _plan_one(
    engine: Engine,
    scaffold: Scaffold,
    language: Language,
    base: Base,
    offline_reason: Callable[[str], str | None],
) -> Combo:
    if base not in scaffold.bases:
        return Combo(language, base, scaffold=scaffold, reason=f"the scaffold offers no {base}")
    reasons: dict[str, str] = {}  # version -> why not
    for version in scaffold.versions:
        try:
            scaffold.check_supported(base, version)
        except StagekitError as exc:
            reasons[version] = exc.message
            continue
        images = scaffold.images_for(base, version)
        needed = {r: ref for r, ref in images.items() if r not in NOT_FOR_RELEASE}
        missing = list(
            dict.fromkeys(
                ref for ref in needed.values() if ref != "scratch" and engine.image(ref) is None
            )
        )
        if not missing:
            return Combo(language, base, version, scaffold, images)
        explained = list(dict.fromkeys(w for w in map(offline_reason, missing) if w))
        reasons[version] = f"{', '.join(missing)} not in the engine" + (
            f" ({'; '.join(explained)})" if explained else ""
        )
    return Combo(language, base, scaffold=scaffold, reason=skip_reason(reasons))


def skip_reason(reasons: Mapping[str, str]) -> str:
    """The first version's reason in full; the other versions named only."""
    if not reasons:
        return "no version in the catalog"
    first, *others = reasons
    text = f"{first}: {reasons[first]}"
    return text + (f" (likewise {', '.join(others)})" if others else "")


def render(combo: Combo, folder: Path) -> Path:
    """Render the combination's project (name ``hello-service``) through stagekit's API."""
    assert combo.scaffold is not None and combo.version is not None
    scaffold = combo.scaffold
    given: dict[str, Any] = {
        "project_name": PROJECT_NAME,
        "base": combo.base.value,
        "version": combo.version,
        "owner": "Benchmarks",
    }
    merged = {**defaults(scaffold, given, "Benchmarks"), **given}
    answers = validate(scaffold, merged)
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / answers.project_name
    generate(scaffold, answers, dest)
    return dest


def image_config(image: Any) -> Mapping[str, Any]:
    return (image.attrs.get("Config") or {}) if image is not None else {}
