"""``stagekit smoke``: build a generated project's stages, then run and judge its images.

The steps (issue 7, docs/smoke.md): lint the project; build ``test``, ``debug`` and ``release``
with BuildKit (a failing build stops the run and keeps the tail of its log); inspect the release
image (user, entrypoint, port, health check, labels, layers, size against the app's payload, and
on scratch/distroless that no shell exists); run it read-only, with every capability dropped and
no-new-privileges, published on 127.0.0.1 only, wait (bounded) until it is healthy and answers its
health endpoint, send SIGTERM and expect a clean exit; start the debug image and check that its
debugger port accepts a connection. Every container carries the label ``org.stagekit.smoke.run=<run
id>`` and is removed on every way out (failure, Ctrl-C, SIGTERM turned into KeyboardInterrupt by
the CLI). Nothing here prints: progress goes to ``on_event`` and the result is a
:class:`SmokeReport`.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stagekit.contract import Stage
from stagekit.engine.client import (
    BuildRequest,
    Endpoint,
    buildx_build,
    created_label,
    engine_platform,
    full_ca_bundle,
    ping,
    resolve_endpoint,
    source_date_epoch,
)
from stagekit.engine.imagefs import (
    entrypoint_program,
    measure_payload,
)
from stagekit.engine.loopback import PortInUseError, check_port_free
from stagekit.errors import (
    EngineError,
    StagekitError,
    ToolMissingError,
    ValidationError,
)
from stagekit.model.project import Project, load_project
from stagekit.org.project_files import read_build_args
from stagekit.sbom.syft import INSTALL_HINT, inventory, syft_path
from stagekit.smoke.checks import (
    SHELL_FREE_BASES,
    CheckResult,
    Payload,
    find_shells,
    judge_entrypoint,
    judge_exposed,
    judge_healthcheck,
    judge_inventory,
    judge_labels,
    judge_layers,
    judge_no_shell,
    judge_payload,
    judge_size_budget,
    judge_user,
    lint_check,
    skipped,
)
from stagekit.smoke.report import (
    DEFAULT_STAGES,
    EMULATION_TIMEOUT_SCALE,
    BuildOutput,
    CheckFinished,
    PhaseStarted,
    SmokeEvent,
    SmokeOptions,
    SmokeReport,
    StageFinished,
    StageResult,
    StageStarted,
)
from stagekit.smoke.runtime import Containers

if TYPE_CHECKING:
    from docker import DockerClient

_LOG_TAIL = 40

#: The library surface (docs/smoke.md): the options and report types come along with ``smoke``.
__all__ = [
    "DEFAULT_STAGES",
    "PortInUseError",
    "SmokeEvent",
    "SmokeOptions",
    "SmokeReport",
    "StageResult",
    "build_args",
    "smoke",
]


# --- the run ------------------------------------------------------------------------------------


def smoke(
    options: SmokeOptions,
    *,
    endpoint: Endpoint | None = None,
    on_event: Callable[[SmokeEvent], None] | None = None,
) -> SmokeReport:
    """Build, run and judge ``options.project``; see the module docstring for the steps.

    Raises ``NotAProjectError``, ``EngineError``, ``PortInUseError``, ``ToolMissingError``
    (``--sbom`` without Syft) before anything is built;
    a failed build or check is in the report (``report.exit_code``: 4 and 1).
    """
    project = load_project(options.project)
    if options.sbom is not None:
        if syft_path() is None:
            raise ToolMissingError("syft is not installed: --sbom needs it", INSTALL_HINT)
        if not options.sbom.parent.is_dir():
            raise ValidationError("sbom", f"folder {options.sbom.parent} does not exist")
        if Stage.RELEASE not in options.stages:
            raise ValidationError("sbom", "the SBOM is the release image's: keep --stage release")
    if endpoint is None:
        endpoint = resolve_endpoint()
        ping(endpoint)
    _require_local(endpoint)
    if options.host_port is not None and Stage.RELEASE in options.stages:
        check_port_free(options.host_port)
    return _Run(project, options, endpoint, on_event or (lambda _event: None)).execute()


def _require_local(endpoint: Endpoint) -> None:
    host = endpoint.host
    local = host.startswith(("unix://", "npipe://")) or re.match(
        r"^tcp://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?/?$", host
    )
    if not local:
        raise EngineError(
            f"smoke reaches containers on 127.0.0.1, but the engine at {host} is remote",
            "run smoke on the engine's machine, or point DOCKER_HOST at a local engine",
        )


def build_args(project: Project, overrides: Mapping[str, str]) -> dict[str, str]:
    """The build arguments of every stage, lowest precedence first: SOURCE_DATE_EPOCH (the
    environment's, else the last commit's time), CREATED (its date), REVISION and VERSION (from
    git where known); then the project's ``build-args.env`` (the org's network settings, written
    by ``stagekit new``); then ``overrides`` (``--build-arg``)."""
    given = {**read_build_args(project.path), **overrides}
    epoch_text = given.get("SOURCE_DATE_EPOCH", "")
    epoch = int(epoch_text) if epoch_text.isdigit() else source_date_epoch(project.path)
    args = {
        "SOURCE_DATE_EPOCH": str(epoch),
        "CREATED": created_label(epoch),
        "REVISION": _git(project.path, "rev-parse", "HEAD") or "unknown",
    }
    tag = _git(project.path, "describe", "--tags", "--exact-match")
    if tag:
        args["VERSION"] = tag.removeprefix("v")
    args.update(given)
    return args


def _git(cwd: Path, *arguments: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *arguments],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


class _Run:
    """One smoke run: lints, builds and inspects here; its containers are a
    :class:`~stagekit.smoke.runtime.Containers`, all removed when ``execute`` returns."""

    def __init__(
        self,
        project: Project,
        options: SmokeOptions,
        endpoint: Endpoint,
        emit: Callable[[SmokeEvent], None],
    ) -> None:
        self.project = project
        self.options = options
        self.endpoint = endpoint
        self.emit = emit
        self.run_id = uuid.uuid4().hex[:12]
        self.containers = Containers(
            endpoint, self.run_id, project.name, timeout=options.timeout, emit=emit, add=self.add
        )
        native = engine_platform(self.containers.client)
        self.platform = options.platform or native
        self.emulated = self.platform != native
        self.timeout_scale = EMULATION_TIMEOUT_SCALE if self.emulated else 1.0
        self.containers.timeout = options.timeout * self.timeout_scale
        self.containers.health_scale = self.timeout_scale
        self.containers.platform = self.platform
        self.stages: list[StageResult] = []
        self.checks: list[CheckResult] = []
        self.payload: Payload | None = None
        self.inventory: dict[str, Any] | None = None
        self.images: dict[Stage, str] = {}  # the image judged for each stage
        self.built: dict[Stage, str] = {}  # the tags this run built (and may remove)
        self.created: str | None = None

    @property
    def client(self) -> DockerClient:
        return self.containers.client  # replaced by a fresh one if the connection broke

    def tag(self, stage: Stage) -> str:
        return f"{self.options.image_prefix}/{self.project.name}:{stage.value}"

    def execute(self) -> SmokeReport:
        import docker
        import requests

        started = time.monotonic()
        removed: tuple[str, ...] = ()
        try:
            if self.options.lint:
                self.add(self.lint())
            else:
                self.add(skipped("lint", "--no-lint", stage=None))
            if self.build_all():
                if Stage.RELEASE in self.options.stages:
                    self.judge_release()
                if Stage.DEBUG in self.options.stages:
                    self.judge_debug()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EngineError(
                f"the Docker Engine at {self.endpoint.host} failed during the run: {first}",
                "check `docker info`; the run's containers were removed",
            ) from exc
        finally:
            try:
                self.containers.remove_all()
            finally:
                removed = self.remove_images()
                self.client.close()
        return SmokeReport(
            project=self.project.path,
            name=self.project.name,
            language=self.project.language.value,
            base=self.project.base.value,
            port=self.project.port,
            run_id=self.run_id,
            engine=self.endpoint.host,
            stages=tuple(self.stages),
            checks=tuple(self.checks),
            payload=self.payload,
            seconds=time.monotonic() - started,
            removed_images=removed,
            inventory=self.inventory,
            platform=self.platform,
            emulated=self.emulated,
            timeout_scale=self.timeout_scale,
        )

    def add(self, check: CheckResult) -> CheckResult:
        self.checks.append(check)
        self.emit(CheckFinished(check))
        return check

    # lint ---------------------------------------------------------------------------------------

    def lint(self) -> CheckResult:
        self.emit(PhaseStarted(None, "lint", "linting the project"))
        # Imported here: the lint machinery (BuildKit's parser, YAML) loads only when smoke lints.
        from stagekit.lint.run import lint

        try:
            result = lint(self.project.path, docker_host=self.endpoint.host)
        except StagekitError as exc:
            return CheckResult("lint", False, f"lint could not run: {exc.message}", stage=None)
        return lint_check(result)

    # builds -------------------------------------------------------------------------------------

    def build_all(self) -> bool:
        args = build_args(self.project, self.options.build_args)
        self.created = args.get("CREATED")
        epoch_given = "SOURCE_DATE_EPOCH" in os.environ or "SOURCE_DATE_EPOCH" in (
            self.options.build_args
        )
        if Stage.RELEASE in self.options.prebuilt and not epoch_given:
            self.created = None  # built elsewhere, from an epoch we do not know
        with tempfile.TemporaryDirectory(prefix="stagekit-smoke-") as tmp:
            bundle = full_ca_bundle(self.options.ca_bundle, Path(tmp))
            for stage in self.options.stages:
                if stage in self.options.prebuilt:
                    self.use_prebuilt(stage, self.options.prebuilt[stage])
                elif not self.build(stage, args, bundle):
                    return False
        return True

    def use_prebuilt(self, stage: Stage, reference: str) -> None:
        """Judge an image built elsewhere (CI's, or the test session's) instead of building."""
        import docker

        self.emit(StageStarted(stage, reference))
        try:
            image = self.client.images.get(reference)
        except docker.errors.ImageNotFound:
            raise ValidationError(
                "image",
                f"{reference} (given for stage {stage}) is not in the engine",
                "build or load it first, or leave --image out to let smoke build the stage",
            ) from None
        self.images[stage] = reference
        size = int(image.attrs.get("Size") or 0)
        result = StageResult(stage, True, 0.0, reference, size, "prebuilt: not built by smoke")
        self.stages.append(result)
        self.emit(StageFinished(result))

    def build(self, stage: Stage, args: Mapping[str, str], bundle: Path | None) -> bool:
        tag = self.tag(stage)
        self.emit(StageStarted(stage, tag))
        request = BuildRequest(
            context=self.project.path,
            target=stage.value,
            tag=tag,
            build_args=dict(args),
            ca_bundle=bundle,
            no_cache=self.options.no_cache,
            platform=self.options.platform,
            builder=self.options.builder,
        )
        outcome = buildx_build(
            self.endpoint, request, on_line=lambda line: self.emit(BuildOutput(stage, line))
        )
        if outcome.ok:
            self.built[stage] = tag
            self.images[stage] = tag
            size = int(self.client.images.get(tag).attrs.get("Size") or 0)
            steps = len(outcome.cached_steps)
            result = StageResult(
                stage, True, outcome.seconds, tag, size, f"built ({steps} steps cached)", steps
            )
        else:
            tail = outcome.tail(_LOG_TAIL)
            result = StageResult(
                stage,
                False,
                outcome.seconds,
                None,
                None,
                _failure_line(outcome.log) or "see the log tail",
                len(outcome.cached_steps),
                tail,
            )
        self.stages.append(result)
        self.emit(StageFinished(result))
        return outcome.ok

    # release ------------------------------------------------------------------------------------

    def judge_release(self) -> None:
        tag = self.images[Stage.RELEASE]
        self.emit(PhaseStarted(Stage.RELEASE, "inspect", "inspecting the release image"))
        image = self.client.images.get(tag)
        config = image.attrs.get("Config") or {}
        size = int(image.attrs.get("Size") or 0)
        layers = len((image.attrs.get("RootFS") or {}).get("Layers") or [])
        entrypoint = list(config.get("Entrypoint") or [])
        self.add(judge_user(config.get("User")))
        self.add(judge_entrypoint(entrypoint))
        self.add(judge_exposed(config.get("ExposedPorts"), self.project.port))
        self.add(judge_healthcheck(config.get("Healthcheck")))
        self.add(judge_labels(config.get("Labels"), self.created))
        base_ref = self.project.image(Stage.RELEASE)
        base_image = None if base_ref == "scratch" else self._image_or_none(base_ref)
        history = image.history()
        if base_ref == "scratch":
            self.add(judge_layers(layers, history, 0))
        elif base_image is None:
            self.add(judge_layers(layers, history, None))
        else:
            base_layers = len((base_image.attrs.get("RootFS") or {}).get("Layers") or [])
            added = history[: max(0, len(history) - len(base_image.history()))]
            self.add(judge_layers(layers, added, base_layers))

        self.emit(PhaseStarted(Stage.RELEASE, "filesystem", "reading the image filesystem"))
        entries = self.containers.export(tag)
        program = entrypoint_program(entries, config)
        paths = self.project.payload_paths(program)
        payload_bytes, missing = measure_payload(entries, paths)
        base_size = int(base_image.attrs.get("Size") or 0) if base_image is not None else 0
        self.payload = Payload(
            paths=tuple(paths),
            payload_bytes=payload_bytes,
            image_size=size,
            base_image=None if base_ref == "scratch" else base_ref,
            base_size=base_size,
            missing=missing,
        )
        if base_ref != "scratch" and base_image is None:
            self.add(skipped("size vs payload", f"base image {base_ref} not in the engine"))
        else:
            self.add(judge_payload(self.payload))
        self.add(judge_size_budget(size, self.options.max_size))
        probes = (
            self.containers.shell_probes(tag) if self.project.base in SHELL_FREE_BASES else None
        )
        self.add(judge_no_shell(self.project.base, find_shells(entries), probes))
        self.judge_inventory(tag)

        self.containers.run_release(
            tag,
            config,
            port=self.project.port,
            health_path=self.project.health_path,
            host_port=self.options.host_port,
        )

    def judge_inventory(self, tag: str) -> None:
        """What a scanner can see in the release image (Syft), and the SBOM if asked for."""
        if syft_path() is None:
            self.add(skipped("inventory", f"syft is not installed: {INSTALL_HINT}"))
            return
        self.emit(PhaseStarted(Stage.RELEASE, "inventory", "taking the inventory (Syft)"))
        found = inventory(tag, self.endpoint, cyclonedx=self.options.sbom)
        self.inventory = {
            "components": len(found.components),
            "by_type": found.counts(),
            "distro": found.distro,
            "sbom": str(self.options.sbom) if self.options.sbom else None,
        }
        self.add(judge_inventory(found, self.project.language.value))

    def _image_or_none(self, reference: str) -> Any:
        import docker

        try:
            return self.client.images.get(reference)
        except docker.errors.ImageNotFound:
            return None

    # debug --------------------------------------------------------------------------------------

    def judge_debug(self) -> None:
        self.add(
            self.containers.debugger_accepts(
                self.images[Stage.DEBUG],
                debug_port=self.project.debug_port,
                app_port=self.project.port,
            )
        )

    # cleanup ------------------------------------------------------------------------------------

    def remove_images(self) -> tuple[str, ...]:
        if self.options.keep:
            return ()
        stages = set(self.built)
        if not self.options.clean:
            stages.discard(Stage.RELEASE)
        removed = []
        for stage in sorted(stages, key=DEFAULT_STAGES.index):
            try:
                self.client.images.remove(self.built[stage])
                removed.append(self.built[stage])
            except Exception:  # an image in use elsewhere stays
                continue
        return tuple(removed)


_PROCESS_FAILED = re.compile(
    r'process "(?:/bin/sh -c )?(?P<command>.*)" did not complete successfully: '
    r"(?P<code>exit code: \d+)"
)


def _failure_line(log: str) -> str:
    """What failed, in one short line: the failing step's command and exit code, else the last
    ``ERROR:`` line of a BuildKit log (a missing stage, a syntax error)."""
    lines = log.splitlines()
    for line in reversed(lines):
        if match := _PROCESS_FAILED.search(line):
            command = " ".join(match.group("command").split())
            if len(command) > 80:
                command = command[:79] + "…"
            return f"`{command}` failed ({match.group('code')})"
    for line in reversed(lines):
        if line.startswith("ERROR:"):
            return line.removeprefix("ERROR:").strip()[:300]
    return lines[-1].strip()[:300] if lines else ""
