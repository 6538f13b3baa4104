"""What a ``stagekit smoke`` run is asked to do and what it reports: options, per-stage build
results, the report (text and JSON), and the progress events a display listens to.

Plain data: :mod:`stagekit.smoke.run` fills it in, :mod:`stagekit.smoke.output` renders it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagekit.contract import BUILD_ARG_NAME, MULTI_PLATFORMS, Stage
from stagekit.errors import EXIT_BUILD, EXIT_CHECK_FAILED, EXIT_OK, ValidationError
from stagekit.model.answers import MAX_PORT
from stagekit.smoke.checks import CheckResult, Payload

SCHEMA = "stagekit.smoke.run/1"
DEFAULT_STAGES = (Stage.TEST, Stage.DEBUG, Stage.RELEASE)
SMOKE_STAGES = frozenset(DEFAULT_STAGES)
_PREFIX = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)


#: What smoke builds and runs: the platforms every generated project targets.
PLATFORMS = MULTI_PLATFORMS
#: How much longer every wait may take when the release runs under emulation (QEMU user mode runs
#: arm64 code several times slower than native).
EMULATION_TIMEOUT_SCALE = 5.0


@dataclass(frozen=True)
class SmokeOptions:
    """What to smoke and how; validated on construction (``ValidationError``)."""

    project: Path
    stages: tuple[Stage, ...] = DEFAULT_STAGES
    no_cache: bool = False
    keep: bool = False  # leave every image the run built
    clean: bool = False  # remove every image the run built (default: test and debug only)
    timeout: float = 120.0  # bound of each wait: healthy, health endpoint, stop, debugger
    ca_bundle: Path | None = None
    max_size: int | None = None  # bytes
    lint: bool = True
    image_prefix: str = "stagekit-smoke"
    host_port: int | None = None  # loopback port for the release container; None: a free one
    build_args: Mapping[str, str] = field(default_factory=dict)  # override the computed ones
    prebuilt: Mapping[Stage, str] = field(default_factory=dict)  # judge these, build the others
    sbom: Path | None = None  # write the release image's CycloneDX SBOM here (needs Syft)
    platform: str | None = None  # build and run for this platform (default: the engine's)
    builder: str | None = (
        None  # build on this buildx builder (default: BUILDX_BUILDER, else buildx's)
    )

    def __post_init__(self) -> None:
        stages = tuple(s for s in DEFAULT_STAGES if s in set(self.stages))
        extra = [s for s in self.stages if s not in SMOKE_STAGES]
        if extra or not stages:
            raise ValidationError(
                "stage",
                f"{extra[0] if extra else 'nothing'} is not a stage smoke runs",
                "choose from test, debug, release (build is built as their base)",
            )
        object.__setattr__(self, "stages", stages)
        if self.keep and self.clean:
            raise ValidationError("keep", "--keep and --clean contradict each other")
        if not 0 < self.timeout <= 3600:
            raise ValidationError("timeout", f"{self.timeout} s is not within (0, 3600]")
        if self.max_size is not None and self.max_size <= 0:
            raise ValidationError("max-size", "must be a positive number of bytes")
        if not _PREFIX.match(self.image_prefix):
            raise ValidationError(
                "image-prefix", f"{self.image_prefix!r} is not a lowercase image repository name"
            )
        if self.platform is not None and self.platform not in PLATFORMS:
            raise ValidationError(
                "platform", f"{self.platform} is not one of {', '.join(PLATFORMS)}"
            )
        if self.host_port is not None and not 1 <= self.host_port <= MAX_PORT:
            raise ValidationError("host-port", f"{self.host_port} is not a TCP port")
        for stage in self.prebuilt:
            if stage not in stages:
                raise ValidationError(
                    "image", f"an image for stage {stage} is given, but that stage is not run"
                )
        for key in self.build_args:
            if not BUILD_ARG_NAME.fullmatch(key):
                raise ValidationError("build-arg", f"{key!r} is not a build argument name")


@dataclass(frozen=True)
class StageResult:
    """One stage's build: did it succeed, how long, which image and how big."""

    stage: Stage
    ok: bool
    seconds: float
    image: str | None
    size: int | None
    detail: str
    cached_steps: int = 0
    log_tail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage.value,
            "ok": self.ok,
            "seconds": round(self.seconds, 2),
            "image": self.image,
            "size": self.size,
            "cached_steps": self.cached_steps,
            "detail": self.detail,
            "log_tail": self.log_tail or None,
        }


@dataclass(frozen=True)
class SmokeReport:
    """Everything one run found; ``ok`` when every stage built and no check failed."""

    project: Path
    name: str
    language: str
    base: str
    port: int
    run_id: str
    engine: str
    stages: tuple[StageResult, ...]
    checks: tuple[CheckResult, ...]
    payload: Payload | None
    seconds: float
    removed_images: tuple[str, ...] = ()
    inventory: Mapping[str, Any] | None = None  # components by type, distro, the SBOM's path
    platform: str | None = None  # what was built and run
    emulated: bool = False  # run under emulation (QEMU): timeouts were scaled
    timeout_scale: float = 1.0

    @property
    def build_failure(self) -> StageResult | None:
        return next((s for s in self.stages if not s.ok), None)

    @property
    def failed_checks(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.failed)

    @property
    def ok(self) -> bool:
        return self.build_failure is None and not self.failed_checks

    @property
    def exit_code(self) -> int:
        if self.build_failure is not None:
            return EXIT_BUILD
        return EXIT_OK if self.ok else EXIT_CHECK_FAILED

    def failures(self) -> list[str]:
        """One line per reason the run failed (the build first)."""
        lines = []
        if (failed := self.build_failure) is not None:
            lines.append(f"build of stage {failed.stage.value!r} failed: {failed.detail}")
        lines += [f"{c.name}: {c.detail}" for c in self.failed_checks]
        return lines

    def to_dict(self) -> dict[str, Any]:
        passed = sum(1 for c in self.checks if c.status == "passed")
        return {
            "schema": SCHEMA,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "project": {
                "path": str(self.project),
                "name": self.name,
                "language": self.language,
                "base": self.base,
                "port": self.port,
            },
            "run_id": self.run_id,
            "engine": self.engine,
            "platform": {
                "name": self.platform,
                "emulated": self.emulated,
                "timeout_scale": self.timeout_scale,
            },
            "seconds": round(self.seconds, 2),
            "stages": [s.to_dict() for s in self.stages],
            "checks": [c.to_dict() for c in self.checks],
            "summary": {
                "passed": passed,
                "failed": len(self.failed_checks),
                "skipped": sum(1 for c in self.checks if c.skipped),
            },
            "payload": self.payload.to_dict() if self.payload else None,
            "inventory": dict(self.inventory) if self.inventory is not None else None,
            "failures": self.failures(),
            "removed_images": list(self.removed_images),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


# --- events (for progress displays) -------------------------------------------------------------


@dataclass(frozen=True)
class StageStarted:
    stage: Stage
    image: str


@dataclass(frozen=True)
class BuildOutput:
    stage: Stage
    line: str


@dataclass(frozen=True)
class StageFinished:
    result: StageResult


@dataclass(frozen=True)
class PhaseStarted:
    """A step after the builds (``inspect``, ``run``, ``debug``) began."""

    stage: Stage | None
    phase: str
    text: str


@dataclass(frozen=True)
class CheckFinished:
    check: CheckResult


SmokeEvent = StageStarted | BuildOutput | StageFinished | PhaseStarted | CheckFinished
