"""``stagekit smoke``: build a generated project's stages, then run and judge its images.

The steps (issue 7, docs/smoke.md): lint the project; build ``test``, ``debug`` and ``release``
with BuildKit (a failing build stops the run and keeps the tail of its log); inspect the release
image (user, entrypoint, port, health check, labels, layers, size against the app's payload, and
on scratch/distroless that no shell exists); run it read-only, with every capability dropped and
no-new-privileges, published on 127.0.0.1 only, wait (bounded) until it is healthy and answers its
health endpoint, send SIGTERM and expect a clean exit; start the debug image and check that its
debugger port accepts a connection. Every container carries the label ``org.stagekit.smoke=<run
id>`` and is removed on every way out (failure, Ctrl-C, SIGTERM turned into KeyboardInterrupt by
the CLI). Nothing here prints: progress goes to ``on_event`` and the result is a
:class:`SmokeReport`.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from stagekit.engine import (
    BuildRequest,
    Endpoint,
    buildx_build,
    created_label,
    full_ca_bundle,
    ping,
    resolve_endpoint,
    source_date_epoch,
)
from stagekit.errors import (
    EXIT_BUILD,
    EXIT_CHECK_FAILED,
    EXIT_OK,
    EngineError,
    StagekitError,
    ValidationError,
)
from stagekit.model import Stage
from stagekit.project import Project, load_project
from stagekit.smoke_checks import (
    DEFAULT_PATH,
    SHELL_FREE_BASES,
    SHELL_PROBES,
    Check,
    ChunkStream,
    FsEntry,
    Payload,
    find_shells,
    judge_entrypoint,
    judge_exposed,
    judge_healthcheck,
    judge_labels,
    judge_layers,
    judge_no_shell,
    judge_payload,
    judge_size_budget,
    judge_user,
    lint_check,
    measure_payload,
    scan_tar,
    skipped,
    which,
)

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

SCHEMA = "stagekit.smoke/1"
SMOKE_LABEL = "org.stagekit.smoke"
DEFAULT_STAGES = (Stage.TEST, Stage.DEBUG, Stage.RELEASE)
SMOKE_STAGES = frozenset(DEFAULT_STAGES)
_PREFIX = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_BUILD_ARG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOG_TAIL = 40


class PortInUseError(StagekitError):
    """The loopback port asked for the release container is taken."""


# --- options, results, report -------------------------------------------------------------------


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
        if self.host_port is not None and not 1 <= self.host_port <= 65535:
            raise ValidationError("host-port", f"{self.host_port} is not a TCP port")
        for stage in self.prebuilt:
            if stage not in stages:
                raise ValidationError(
                    "image", f"an image for stage {stage} is given, but that stage is not run"
                )
        for key in self.build_args:
            if not _BUILD_ARG.match(key):
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
    checks: tuple[Check, ...]
    payload: Payload | None
    seconds: float
    removed_images: tuple[str, ...] = ()

    @property
    def build_failure(self) -> StageResult | None:
        return next((s for s in self.stages if not s.ok), None)

    @property
    def failed_checks(self) -> tuple[Check, ...]:
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
            "seconds": round(self.seconds, 2),
            "stages": [s.to_dict() for s in self.stages],
            "checks": [c.to_dict() for c in self.checks],
            "summary": {
                "passed": passed,
                "failed": len(self.failed_checks),
                "skipped": sum(1 for c in self.checks if c.skipped),
            },
            "payload": self.payload.to_dict() if self.payload else None,
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
    check: Check


SmokeEvent = StageStarted | BuildOutput | StageFinished | PhaseStarted | CheckFinished


# --- loopback -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"port 127.0.0.1:{port} is already in use",
                    "stop what listens there, pass another --host-port, or leave it out to let "
                    "smoke pick a free port",
                ) from None
            raise


def http_status(port: int, path: str, timeout: float = 3.0) -> tuple[int | None, str]:
    """GET ``http://127.0.0.1:port/path`` (no proxy): the status, or None and why."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "stagekit-smoke"})
        response = connection.getresponse()
        body = response.read(200).decode("utf-8", errors="replace").strip()
        return response.status, body
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    finally:
        connection.close()


def tcp_accepts(port: int, hold: float = 1.0) -> tuple[bool, str]:
    """Does something inside the container accept on ``port``?

    Docker's userland proxy accepts on the host side whatever the container does and closes the
    connection when nothing listens behind it; so a connection only counts when it stays open for
    ``hold`` seconds (a debugger waits for its client to speak) or the server speaks first.
    """
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=3.0)
    except OSError as exc:
        return False, f"connect: {exc.strerror or exc}"
    with sock:
        sock.settimeout(hold)
        try:
            data = sock.recv(64)
        except TimeoutError:
            return True, "connection accepted and held open"
        except OSError as exc:
            return False, f"connection reset ({exc.strerror or exc})"
        if data:
            return True, "connection accepted; the server spoke first"
        return False, "connection closed at once (nothing listens behind the published port)"


# --- the run ------------------------------------------------------------------------------------


def smoke(
    options: SmokeOptions,
    *,
    endpoint: Endpoint | None = None,
    on_event: Callable[[SmokeEvent], None] | None = None,
) -> SmokeReport:
    """Build, run and judge ``options.project``; see the module docstring for the steps.

    Raises ``NotAProjectError``, ``EngineError``, ``PortInUseError`` (before anything is built);
    a failed build or check is in the report (``report.exit_code``: 4 and 1).
    """
    project = load_project(options.project)
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
    given = {**project_build_args(project.path), **overrides}
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


def project_build_args(path: Path) -> dict[str, str]:
    """The project's ``build-args.env`` (``stagekit.config``), if this install has that module."""
    try:
        from stagekit.config import read_build_args
    except ModuleNotFoundError as exc:
        if exc.name != "stagekit.config":
            raise
        return {}
    return read_build_args(path)


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
    """One smoke run's state; ``execute`` always removes the containers it labelled."""

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
        self.labels = {SMOKE_LABEL: self.run_id, f"{SMOKE_LABEL}.project": project.name}
        self.client: DockerClient = endpoint.client()
        self.stages: list[StageResult] = []
        self.checks: list[Check] = []
        self.payload: Payload | None = None
        self.images: dict[Stage, str] = {}  # the image judged for each stage
        self.built: dict[Stage, str] = {}  # the tags this run built (and may remove)
        self.created: str | None = None
        self._containers = 0

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
                self.remove_containers()
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
        )

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        self.emit(CheckFinished(check))
        return check

    # lint ---------------------------------------------------------------------------------------

    def lint(self) -> Check:
        self.emit(PhaseStarted(None, "lint", "linting the project"))
        try:
            from stagekit import lint as lint_module
        except ModuleNotFoundError as exc:
            if exc.name not in ("stagekit.lint", "stagekit"):
                raise
            return skipped("lint", "stagekit.lint is not available in this install", stage=None)
        try:
            result = lint_module.lint(self.project.path, docker_host=self.endpoint.host)
        except StagekitError as exc:
            return Check("lint", False, f"lint could not run: {exc.message}", stage=None)
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
        base_ref = self.project.images.get("release", "scratch")
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
        entries = self.export(tag)
        env = dict(e.split("=", 1) for e in config.get("Env") or [] if "=" in e)
        program = which(entries, entrypoint[0], env.get("PATH", DEFAULT_PATH)) if entrypoint else ""
        paths = self.project.payload_paths(program) if program else self.project.payload
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
        probes = self.shell_probes(tag) if self.project.base in SHELL_FREE_BASES else None
        self.add(judge_no_shell(self.project.base, find_shells(entries), probes))

        self.run_release(tag, config)

    def _image_or_none(self, reference: str) -> Any:
        import docker

        try:
            return self.client.images.get(reference)
        except docker.errors.ImageNotFound:
            return None

    def create(self, image: str, role: str, **kwargs: Any) -> Container:
        self._containers += 1
        return self.client.containers.create(
            image,
            name=f"stagekit-smoke-{self.run_id}-{role}-{self._containers}",
            labels=self.labels,
            **kwargs,
        )

    def export(self, tag: str) -> dict[str, FsEntry]:
        container = self.create(tag, "export")
        try:
            chunks = cast(Iterator[bytes], iter(container.export()))
            return scan_tar(ChunkStream(chunks))
        finally:
            container.remove(force=True)

    def shell_probes(self, tag: str) -> dict[str, str]:
        """Try to start each shell: ``refused`` (no such executable) or ``ran``."""
        import docker

        outcomes: dict[str, str] = {}
        for probe in SHELL_PROBES:
            container = self.create(
                tag,
                "probe",
                entrypoint=[probe, "-c", "exit 0"],
                command=[],
                network_disabled=True,
                read_only=True,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
            )
            try:
                container.start()
            except docker.errors.APIError as exc:
                text = str(exc)
                absent = "executable file not found" in text or "no such file" in text
                outcomes[probe] = "refused" if absent else f"start failed ({text[:80]})"
            else:
                try:
                    status = container.wait(timeout=30).get("StatusCode")
                except Exception:  # a probe that hangs started something
                    outcomes[probe] = "exit none: still running after 30 s"
                else:
                    outcomes[probe] = "ran" if status == 0 else f"exit {status}"
            finally:
                container.remove(force=True)
        return outcomes

    def run_release(self, tag: str, config: Mapping[str, Any]) -> None:
        import docker

        port = self.project.port
        timeout = self.options.timeout
        self.emit(PhaseStarted(Stage.RELEASE, "run", "running the release container"))
        container = None
        host_port = self.options.host_port
        for _attempt in range(3):
            chosen = host_port or free_port()
            try:
                container = self.create(
                    tag,
                    "release",
                    read_only=True,
                    cap_drop=["ALL"],
                    security_opt=["no-new-privileges"],
                    ports={f"{port}/tcp": ("127.0.0.1", chosen)},
                    environment={"PORT": str(port)},
                )
                container.start()
                break
            except docker.errors.APIError as exc:
                if container is not None:
                    container.remove(force=True)
                    container = None
                text = str(exc)
                if "already allocated" in text or "address already in use" in text:
                    if host_port is not None:
                        raise PortInUseError(
                            f"port 127.0.0.1:{host_port} is already in use",
                            "pass another --host-port, or leave it out to pick a free port",
                        ) from None
                    continue  # another process took the free port: pick again
                self.add(Check("hardened run", False, f"the container did not start: {text}"))
                return
        if container is None:
            raise PortInUseError("no free loopback port could be published after 3 tries")
        started = time.monotonic()
        healthy = self.wait_healthy(container, started, timeout)
        self.add(self.hardened(container, healthy))
        self.add(healthy)
        self.add(self.probe_endpoint(chosen, started, timeout))
        self.add(self.stop(container, timeout, config))

    def wait_healthy(self, container: Container, started: float, timeout: float) -> Check:
        name = "healthy"
        self.emit(PhaseStarted(Stage.RELEASE, "healthy", "waiting for the health check"))
        status = "starting"
        while True:
            container.reload()
            state = container.attrs.get("State") or {}
            health = state.get("Health")
            elapsed = time.monotonic() - started
            if not state.get("Running"):
                code = state.get("ExitCode")
                return Check(
                    name,
                    False,
                    f"exited with code {code} after {elapsed:.1f} s: {self.logs_tail(container)}",
                )
            if health is None:
                return Check(name, False, "no health check to wait for")
            status = str(health.get("Status"))
            if status == "healthy":
                return Check(name, True, f"healthy after {elapsed:.1f} s")
            if status == "unhealthy" or elapsed > timeout:
                last = (health.get("Log") or [{}])[-1]
                probe = str(last.get("Output", "")).strip().replace("\n", " ")[:160]
                why = f"; last probe exit {last.get('ExitCode')}: {probe}" if last else ""
                verb = "unhealthy" if status == "unhealthy" else f"still {status}"
                return Check(
                    name, False, f"{verb} after {elapsed:.1f} s (bound {timeout:g} s){why}"
                )
            time.sleep(0.25)

    def hardened(self, container: Container, healthy: Check) -> Check:
        name = "hardened run"
        host = container.attrs.get("HostConfig") or {}
        flags = []
        if host.get("ReadonlyRootfs"):
            flags.append("read-only")
        if host.get("CapDrop") == ["ALL"] and not host.get("CapAdd"):
            flags.append("cap-drop ALL")
        if "no-new-privileges" in (host.get("SecurityOpt") or []):
            flags.append("no-new-privileges")
        if len(flags) < 3:
            return Check(name, False, f"the engine did not apply every restriction: {flags}")
        running = bool((container.attrs.get("State") or {}).get("Running"))
        if not running and not healthy.ok:
            return Check(name, False, f"{', '.join(flags)}: the app stopped ({healthy.detail})")
        return Check(name, True, f"{', '.join(flags)}; the app keeps running")

    def probe_endpoint(self, host_port: int, started: float, timeout: float) -> Check:
        name = "health endpoint"
        path = self.project.health_path
        self.emit(PhaseStarted(Stage.RELEASE, "endpoint", f"GET {path} on 127.0.0.1"))
        deadline = max(time.monotonic() + 5.0, started + timeout)
        while True:
            status, body = http_status(host_port, path)
            if status == 200:
                return Check(name, True, f"GET {path} → 200 on 127.0.0.1:{host_port}")
            if time.monotonic() >= deadline:
                what = f"→ {status} {body[:80]}" if status is not None else f"failed: {body}"
                return Check(name, False, f"GET {path} {what} (127.0.0.1:{host_port})")
            time.sleep(0.5)

    def stop(self, container: Container, timeout: float, config: Mapping[str, Any]) -> Check:
        import requests

        name = "sigterm"
        self.emit(PhaseStarted(Stage.RELEASE, "stop", "sending SIGTERM"))
        container.reload()
        state = container.attrs.get("State") or {}
        if not state.get("Running"):
            return Check(name, False, f"the container had already exited ({state.get('ExitCode')})")
        signal_name = "SIGTERM"
        stop_signal = str(config.get("StopSignal") or "SIGTERM")
        started = time.monotonic()
        container.kill(signal=signal_name)
        try:
            code = container.wait(timeout=timeout).get("StatusCode")
        except requests.exceptions.RequestException:
            return Check(name, False, f"still running {timeout:g} s after SIGTERM")
        seconds = time.monotonic() - started
        note = "" if stop_signal in ("SIGTERM", "15") else f" (STOPSIGNAL is {stop_signal})"
        if code != 0:
            return Check(
                name,
                False,
                f"exit code {code} {seconds:.1f} s after SIGTERM{note}: "
                f"{self.logs_tail(container)}",
            )
        return Check(name, True, f"exit 0 {seconds:.2f} s after SIGTERM{note}")

    def logs_tail(self, container: Container, lines: int = 5) -> str:
        try:
            raw = container.logs(tail=lines)
        except Exception:  # logs only decorate a failure
            return "(no logs)"
        text = raw.decode("utf-8", errors="replace").strip() if isinstance(raw, bytes) else ""
        return " | ".join(text.splitlines()[-lines:]) or "(no output)"

    # debug --------------------------------------------------------------------------------------

    def judge_debug(self) -> None:
        import docker

        tag = self.images[Stage.DEBUG]
        debug_port = self.project.debug_port
        name = "debug port"
        self.emit(PhaseStarted(Stage.DEBUG, "debug", f"waiting for the debugger on {debug_port}"))
        host_port = free_port()
        try:
            container = self.create(
                tag,
                "debug",
                ports={f"{debug_port}/tcp": ("127.0.0.1", host_port)},
                environment={"PORT": str(self.project.port)},
            )
            container.start()
        except docker.errors.APIError as exc:
            self.add(Check(name, False, f"the debug container did not start: {exc}", Stage.DEBUG))
            return
        started = time.monotonic()
        deadline = started + self.options.timeout
        why = ""
        while time.monotonic() < deadline:
            container.reload()
            state = container.attrs.get("State") or {}
            if not state.get("Running"):
                detail = f"exited with code {state.get('ExitCode')}: {self.logs_tail(container)}"
                self.add(Check(name, False, detail, Stage.DEBUG))
                return
            accepted, why = tcp_accepts(host_port)
            if accepted:
                elapsed = time.monotonic() - started
                detail = f"{debug_port} on 127.0.0.1:{host_port}: {why} after {elapsed:.1f} s"
                self.add(Check(name, True, detail, Stage.DEBUG))
                return
            time.sleep(0.5)
        bound = self.options.timeout
        self.add(
            Check(
                name, False, f"no debugger on {debug_port} within {bound:g} s: {why}", Stage.DEBUG
            )
        )

    # cleanup ------------------------------------------------------------------------------------

    def remove_containers(self) -> None:
        """Remove every container labelled with this run (also ones whose creation was cut)."""
        for _attempt in range(3):
            try:
                found = self.client.containers.list(
                    all=True, filters={"label": f"{SMOKE_LABEL}={self.run_id}"}
                )
                for container in found:
                    container.remove(force=True)
                return
            except KeyboardInterrupt:
                continue  # a second Ctrl-C must not leave containers behind
            except Exception:  # retry on a fresh connection
                self.client = self.endpoint.client()

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
